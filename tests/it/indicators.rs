//! Indicator tests: hand-computed values on small fixtures, and the program evaluation
//! against the synthetic region's known truth.
