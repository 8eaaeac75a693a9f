//! Every label a reader sees, in French and English. Templates get the table as `t`.

use std::collections::BTreeMap;

use vigie_disclosure::Lang;

/// (key, French, English).
const LABELS: &[(&str, &str, &str)] = &[
    (
        "kicker",
        "suivi de la performance en soins intégrés",
        "performance monitoring for integrated care",
    ),
    ("colon", "\u{a0}: ", ": "),
    (
        "colophon",
        "Produit par Vigie à partir des résultats publiés (après contrôle de la divulgation), données au",
        "Produced by Vigie from the published results (after disclosure control), data as of",
    ),
    ("data_as_of", "données au", "data as of"),
    ("region", "Région", "Region"),
    (
        "role_missing",
        "Aucun indicateur du catalogue ne porte le rôle « {role} » (voir queries/README.md) : cette section ne peut pas l'afficher.",
        "No indicator in the catalogue has the role \"{role}\" (see queries/README.md): this section cannot show it.",
    ),
    (
        "feedback_title",
        "Rapport de rétroaction",
        "Feedback report",
    ),
    (
        "feedback_for",
        "Pour l'équipe de soins : vos patients comparés à vos résultats passés, aux équipes pairs et aux cibles",
        "For the care team: your patients compared with your own history, your peer teams and the targets",
    ),
    (
        "accountability_title",
        "Rapport de reddition de comptes",
        "Accountability report",
    ),
    (
        "accountability_for",
        "Pour les bailleurs de fonds : résultats régionaux par rapport aux cibles",
        "For funders: regional results against targets",
    ),
    ("at_a_glance", "En bref", "At a glance"),
    (
        "key_change_title",
        "Visites à l'urgence des participants au programme",
        "ED visits of program participants",
    ),
    ("adjusted", "ajusté", "adjusted"),
    ("ci95", "IC à 95 %\u{a0}:", "95% CI"),
    (
        "naive_before_after",
        "Avant/après non ajusté",
        "Naive before/after",
    ),
    ("participants", "Participants", "Participants"),
    (
        "comparison_persons",
        "Personnes de comparaison",
        "Comparison persons",
    ),
    (
        "key_change_sentence",
        "La comparaison avant/après ({naive}) surestime l'effet : une partie de la baisse serait survenue sans le programme. L'estimation ajustée ({adjusted}) compare vos participants à des personnes semblables non inscrites.",
        "The before/after comparison ({naive}) overstates the effect: part of the drop would have happened without the program. The adjusted estimate ({adjusted}) compares your participants with similar people who were not enrolled.",
    ),
    (
        "key_change_unavailable",
        "L'estimation n'est pas publiable pour cette équipe (voir les notes).",
        "The estimate cannot be published for this team (see the notes).",
    ),
    (
        "no_program",
        "Aucun résultat d'évaluation du programme pour cette équipe.",
        "No program-evaluation result for this team.",
    ),
    (
        "key_peer_title",
        "Position parmi les équipes",
        "Peer position",
    ),
    ("per_1000", "pour 1 000", "per 1,000"),
    ("per_100000", "pour 100 000", "per 100,000"),
    (
        "peer_unavailable",
        "Position non disponible (valeur supprimée ou absente).",
        "Position not available (value suppressed or missing).",
    ),
    (
        "key_peer_note",
        "Selon les limites de contrôle du graphique en entonnoir (95 % et 99,8 %) autour de la valeur régionale.",
        "Against the funnel-plot control limits (95% and 99.8%) around the regional value.",
    ),
    ("key_targets_title", "Cibles", "Targets"),
    ("of", "sur", "of"),
    ("targets_met", "cibles atteintes", "targets met"),
    (
        "no_targets",
        "Aucun indicateur avec cible pour cette période.",
        "No indicator with a target in this period.",
    ),
    (
        "ed_section",
        "Visites à l'urgence : votre équipe parmi ses pairs",
        "ED visits: your team among its peers",
    ),
    (
        "ed_section_intro",
        "En haut : la variation ajustée des visites à l'urgence des participants au programme, pour chaque équipe (votre équipe en orange, losange). En bas : le taux de visites à l'urgence du dernier mois de la période selon la taille de l'équipe, avec les limites attendues.",
        "Top: the adjusted change in program participants' ED visits, for every team (your team in orange, diamond). Bottom: the ED visit rate of the last month of the period by team size, with the expected limits.",
    ),
    (
        "ed_peers_title",
        "Variation ajustée des visites à l'urgence des participants, par équipe",
        "Adjusted change in participants' ED visits, by team",
    ),
    (
        "ed_peers_desc",
        "Estimation ajustée et intervalle de confiance à 95 % pour chaque équipe et pour la région; un intervalle qui ne croise pas 0 indique une variation significative.",
        "Adjusted estimate with its 95% confidence interval for each team and the region; an interval that does not cross 0 indicates a significant change.",
    ),
    ("legend_other_teams", "Autres équipes", "Other teams"),
    (
        "funnel_howto",
        "Lecture du graphique en entonnoir : chaque point est une équipe; les lignes tiretées (95 %) et pointillées (99,8 %) montrent l'écart attendu du seul fait du hasard, plus large pour les petites équipes. Un point hors des lignes pointillées mérite un examen.",
        "Reading the funnel plot: each point is a team; the dashed (95%) and dotted (99.8%) lines show how far a team may sit from the regional value by chance alone, wider for small teams. A point outside the dotted lines deserves a closer look.",
    ),
    (
        "indicators_section",
        "Vos indicateurs pour la période",
        "Your indicators this period",
    ),
    ("indicator", "Indicateur", "Indicator"),
    ("period", "Période", "Period"),
    ("target", "Cible", "Target"),
    ("status", "Statut", "Status"),
    ("spc_signal", "Signal (carte de contrôle)", "SPC signal"),
    ("peer_position", "Position parmi les pairs", "Peer position"),
    ("corridor_to", "couloir\u{a0}:", "corridor:"),
    ("status_met", "Cible atteinte", "Met"),
    (
        "status_within_corridor",
        "Dans le couloir",
        "Within corridor",
    ),
    ("status_not_met", "Cible non atteinte", "Not met"),
    (
        "signal_common_cause",
        "Variation habituelle",
        "Common cause",
    ),
    (
        "signal_special_cause_improvement",
        "Signal d'amélioration",
        "Special cause: improvement",
    ),
    (
        "signal_special_cause_concern",
        "Signal préoccupant",
        "Special cause: concern",
    ),
    (
        "signal_special_cause_neither",
        "Signal (ni mieux ni pire)",
        "Special cause: neither",
    ),
    ("trend_improved", "En amélioration", "Improved"),
    ("trend_worsened", "En recul", "Worsened"),
    ("trend_stable", "Stable", "Stable"),
    ("trend_up", "En hausse", "Up"),
    ("trend_down", "En baisse", "Down"),
    (
        "peer_within",
        "Dans la fourchette attendue",
        "Within the expected range",
    ),
    (
        "peer_above_95",
        "Au-dessus de la limite de 95 %",
        "Above the 95% limit",
    ),
    (
        "peer_below_95",
        "Sous la limite de 95 %",
        "Below the 95% limit",
    ),
    (
        "peer_above_998",
        "Au-dessus de la limite de 99,8 %",
        "Above the 99.8% limit",
    ),
    (
        "peer_below_998",
        "Sous la limite de 99,8 %",
        "Below the 99.8% limit",
    ),
    ("tone_favourable", "favorable", "favourable"),
    ("tone_unfavourable", "défavorable", "unfavourable"),
    (
        "history_section",
        "Évolution dans le temps (cartes de contrôle)",
        "Over time (SPC charts)",
    ),
    (
        "spc_howto",
        "Chaque carte montre les valeurs de l'équipe, la ligne centrale (trait plein) et les limites de contrôle (tirets). Les formes signalent une cause spéciale : carré = amélioration, triangle = préoccupation, losange = ni l'un ni l'autre. La zone hachurée est la période du rapport; un trou dans la ligne est une valeur supprimée.",
        "Each chart shows the team's values, the centre line (solid) and the control limits (dashed). Shapes flag special causes: square = improvement, triangle = concern, diamond = neither. The hatched area is the report period; a gap in the line is a suppressed value.",
    ),
    (
        "spc_desc",
        "Carte de contrôle des valeurs de l'équipe avec la ligne centrale et les limites de contrôle.",
        "SPC chart of the team's values with the centre line and control limits.",
    ),
    (
        "spc_gaps",
        "Les valeurs supprimées par le contrôle de la divulgation ne sont pas tracées.",
        "Values suppressed by disclosure control are not plotted.",
    ),
    ("latest", "Dernière valeur", "Latest value"),
    ("legend_centre", "Ligne centrale", "Centre line"),
    ("legend_limits", "Limites de contrôle", "Control limits"),
    ("legend_target", "Cible", "Target"),
    (
        "legend_improvement",
        "Amélioration (cause spéciale)",
        "Improvement (special cause)",
    ),
    (
        "legend_concern",
        "Préoccupation (cause spéciale)",
        "Concern (special cause)",
    ),
    (
        "legend_neither",
        "Cause spéciale (neutre)",
        "Special cause (neither)",
    ),
    ("legend_common", "Variation habituelle", "Common cause"),
    ("legend_period", "Période du rapport", "Report period"),
    ("legend_region_value", "Valeur régionale", "Regional value"),
    ("legend_95", "Limites de 95 %", "95% limits"),
    ("legend_998", "Limites de 99,8 %", "99.8% limits"),
    ("legend_peers", "Équipes pairs", "Peer teams"),
    (
        "legend_naive",
        "Avant/après non ajusté (tirets)",
        "Naive before/after (dashed)",
    ),
    (
        "legend_adjusted",
        "Ajusté (groupe de comparaison)",
        "Adjusted (comparison group)",
    ),
    (
        "legend_region_adjusted",
        "Région, ajusté",
        "Region, adjusted",
    ),
    (
        "funnel_desc",
        "Graphique en entonnoir : valeur de chaque équipe selon sa taille, avec la valeur régionale et les limites de 95 % et 99,8 %.",
        "Funnel plot: each team's value by its size, with the regional value and the 95% and 99.8% limits.",
    ),
    ("funnel_x", "Taille", "Size"),
    (
        "peers_section",
        "Comparaison avec les équipes pairs",
        "Comparison with peer teams",
    ),
    (
        "program_section",
        "Programme de coordination des soins : vos participants",
        "Care-coordination program: your participants",
    ),
    (
        "program_title",
        "Variation après l'inscription",
        "Change after enrolment",
    ),
    (
        "program_forest_desc",
        "Variation en pourcentage des visites à l'urgence et des hospitalisations des participants, non ajustée (avant/après) et ajustée, avec intervalles de confiance à 95 %.",
        "Percent change in participants' ED visits and admissions, naive (before/after) and adjusted, with 95% confidence intervals.",
    ),
    ("outcome", "Résultat", "Outcome"),
    ("outcome_ed", "Visites à l'urgence", "ED visits"),
    ("outcome_admissions", "Hospitalisations", "Admissions"),
    ("naive_short", "avant/après", "before/after"),
    ("adjusted_short", "ajusté", "adjusted"),
    (
        "adjusted_comparison",
        "Ajusté (groupe de comparaison)",
        "Adjusted (comparison group)",
    ),
    ("region_adjusted", "Région, ajusté", "Region, adjusted"),
    (
        "rtm_title",
        "Pourquoi les deux chiffres diffèrent-ils ?",
        "Why do the two figures differ?",
    ),
    (
        "rtm_1",
        "Les personnes sont inscrites au programme juste après une période où elles sont beaucoup allées à l'urgence. Une telle période est souvent passagère : même sans programme, la plupart seraient revenues d'elles-mêmes vers leur niveau habituel. C'est la « régression vers la moyenne ». La comparaison avant/après attribue toute cette baisse au programme et surestime donc son effet.",
        "People are enrolled right after a spell of heavy ED use. Such spells are often temporary: even without the program, most would have drifted back toward their usual level on their own. This is \"regression to the mean\". The before/after comparison credits the whole drop to the program, so it overstates the effect.",
    ),
    (
        "rtm_2",
        "L'estimation ajustée compare vos participants à des personnes admissibles non inscrites, au profil d'utilisation, d'âge et de sexe semblable, suivies à partir de la même date. Elle retire la baisse qui serait survenue de toute façon : c'est le chiffre à retenir. Si son intervalle de confiance croise 0, l'effet n'est pas démontré.",
        "The adjusted estimate compares your participants with eligible people who were not enrolled, with similar prior use, age and sex, followed from the same date. It removes the drop that would have happened anyway: it is the figure to use. If its confidence interval crosses 0, an effect is not demonstrated.",
    ),
    (
        "experience_section",
        "Expérience des patients, par question",
        "Patient experience, by item",
    ),
    ("item", "Question", "Item"),
    ("top_box", "Meilleure réponse", "Top box"),
    (
        "items_desc",
        "Pourcentage de meilleures réponses par question (la réponse la plus favorable de son échelle, indiquée dans le tableau), équipe (carré, intervalle de confiance à 95 %) et région (cercle).",
        "Percentage of top-box answers by item (the most positive answers of its scale, shown in the table), team (square, 95% confidence interval) and region (circle).",
    ),
    (
        "no_experience",
        "Aucun résultat de sondage publiable pour cette période.",
        "No publishable survey result for this period.",
    ),
    ("data_notes_section", "Notes sur les données", "Data notes"),
    (
        "coverage_caption",
        "Couverture des données par source partenaire (registre des chargements)",
        "Data coverage by partner source (load manifest)",
    ),
    ("source", "Source", "Source"),
    ("rows_read", "Lignes lues", "Rows read"),
    ("rows_accepted", "Lignes acceptées", "Rows accepted"),
    ("rows_rejected", "Lignes rejetées", "Rows rejected"),
    ("accepted_pct", "Acceptées", "Accepted"),
    ("last_load", "Dernier chargement", "Last load"),
    (
        "days_since",
        "Jours avant le calcul",
        "Days before computation",
    ),
    (
        "suppressed_title",
        "Valeurs supprimées et pourquoi",
        "What was suppressed and why",
    ),
    (
        "suppressed_caption",
        "Cellules de ce rapport supprimées par le contrôle de la divulgation",
        "Cells of this report suppressed by disclosure control",
    ),
    ("unit", "Unité", "Unit"),
    ("stratum", "Strate", "Stratum"),
    (
        "equity_section",
        "Équité : vos indicateurs selon les groupes servis",
        "Equity: your indicators by the groups you serve",
    ),
    (
        "equity_lead",
        "Pour chaque groupe, le taux de votre équipe et l'écart avec le groupe de référence : rapport et différence, avec leur intervalle de confiance à 95 %. Un intervalle du rapport qui contient 1 (ou de la différence qui contient 0) ne montre pas d'écart certain.",
        "For each group, your team's rate and the gap to the reference group: ratio and difference, with their 95% confidence intervals. A ratio interval containing 1 (or a difference interval containing 0) shows no certain gap.",
    ),
    ("by", "selon", "by"),
    (
        "reference_category",
        "Groupe de référence",
        "Reference group",
    ),
    ("rate_ratio", "Rapport de taux", "Rate ratio"),
    ("rate_difference", "Différence de taux", "Rate difference"),
    ("risk_ratio", "Rapport de proportions", "Risk ratio"),
    (
        "risk_difference",
        "Différence de proportions",
        "Risk difference",
    ),
    (
        "sii",
        "Indice de pente des inégalités",
        "Slope index of inequality",
    ),
    (
        "rii",
        "Indice relatif des inégalités",
        "Relative index of inequality",
    ),
    (
        "sii_long",
        "Indice de pente des inégalités (valeur ajustée à l'extrémité la moins défavorisée moins celle à l'extrémité la plus défavorisée, tous les groupes pris en compte)",
        "Slope index of inequality (fitted value at the least disadvantaged end minus the most disadvantaged end, using every group)",
    ),
    ("points", "points", "points"),
    (
        "gap_trend",
        "L'écart se resserre-t-il\u{a0}?",
        "Is the gap narrowing?",
    ),
    ("gap_narrowing", "L'écart se resserre", "Narrowing"),
    ("gap_widening", "L'écart se creuse", "Widening"),
    (
        "gap_no_change",
        "Pas de changement notable",
        "No notable change",
    ),
    (
        "gap_trend_note",
        "L'écart (différence ou indice de pente) de cette période est lu sur sa carte de contrôle (XmR) au fil des périodes : il se resserre quand une règle de la carte signale une cause spéciale et que l'écart est plus proche de zéro que la ligne centrale, il se creuse quand il en est plus loin ; sinon, le changement ne se distingue pas de la variation habituelle d'une période à l'autre. « — » : série trop courte pour une carte, ou cellule supprimée.",
        "The gap (difference or slope index) this period is read on its control chart (XmR) over the periods: it is narrowing when a rule of the chart signals a special cause and the gap is closer to zero than the centre line, widening when it is farther from zero; otherwise the change is not distinguishable from the usual period-to-period variation. \"—\": series too short for a chart, or suppressed cell.",
    ),
    (
        "governance",
        "Gouvernance des données\u{a0}:",
        "Data governance:",
    ),
    (
        "no_equity",
        "Aucun de vos indicateurs n'a de résultats par groupe d'équité pour cette période.",
        "None of your indicators has results by equity group for this period.",
    ),
    (
        "equity_region_section",
        "Équité : écarts entre les groupes dans la région",
        "Equity: gaps between groups in the region",
    ),
    (
        "no_equity_region",
        "Aucun indicateur n'a de résultats par groupe d'équité pour cette période.",
        "No indicator has results by equity group for this period.",
    ),
    (
        "pathway_section",
        "Parcours de soins : entre les visites à l'hôpital",
        "Care pathway: between hospital visits",
    ),
    (
        "pathway_lead",
        "Ce qui se passe entre les visites à l'hôpital : le suivi en soins primaires après la sortie, la boucle des références (acceptée, rendez-vous, rapport reçu) et l'intensité du programme de coordination. Valeur de votre équipe et de la région, avec l'intervalle de confiance à 95 %.",
        "What happens between hospital visits: primary-care follow-up after discharge, the referral loop (accepted, seen, report returned) and the intensity of the care-coordination program. Your team's value and the region's, with the 95% confidence interval.",
    ),
    (
        "no_pathway",
        "Aucun indicateur du parcours de soins n'a de résultats pour cette période (les contacts et les références sont-ils chargés\u{a0}?).",
        "No care pathway indicator has results for this period (are contacts and referrals loaded?).",
    ),
    (
        "pathway_region_section",
        "Parcours de soins dans la région",
        "The care pathway in the region",
    ),
    (
        "pathway_region_lead",
        "Le suivi après la sortie, la boucle des références et l'intensité du programme de coordination dans la région et dans chaque équipe, avec l'intervalle de confiance à 95 %.",
        "Follow-up after discharge, the referral loop and the intensity of the care-coordination program in the region and in each team, with the 95% confidence interval.",
    ),
    (
        "pathway_follow_up",
        "Après la sortie de l'hôpital",
        "After a hospital discharge",
    ),
    (
        "pathway_referral_loop",
        "La boucle des références",
        "The referral loop",
    ),
    (
        "pathway_program",
        "Le programme de coordination : intensité et liaison",
        "The care-coordination program: intensity and linkage",
    ),
    ("total", "Ensemble", "Total"),
    ("category", "Groupe", "Group"),
    (
        "gap_ratio",
        "Rapport au groupe de référence",
        "Ratio to the reference group",
    ),
    (
        "gap_difference",
        "Différence avec le groupe de référence",
        "Difference from the reference group",
    ),
    (
        "gap_region_note",
        "Rapport : taux (ou proportion) du groupe divisé par celui du groupe de référence ; différence : taux du groupe moins celui du groupe de référence, dans l'unité de l'indicateur (en points pour une proportion). L'indice de pente des inégalités, pour les groupes ordonnés (quintiles de défavorisation), estime l'écart entre les deux extrêmes (le moins défavorisé moins le plus défavorisé) en tenant compte de tous les groupes.",
        "Ratio: the group's rate (or proportion) divided by the reference group's; difference: the group's rate minus the reference group's, in the indicator's unit (in points for a proportion). The slope index of inequality, for ordered groups (deprivation quintiles), estimates the gap between the two extremes (least minus most disadvantaged) using every group.",
    ),
    ("reason", "Motif", "Reason"),
    (
        "nothing_suppressed",
        "Aucune valeur de ce rapport n'a été supprimée.",
        "No value of this report was suppressed.",
    ),
    (
        "suppression_rule",
        "Règle : un effectif non nul inférieur au seuil est supprimé, avec toute valeur qui en découle; une deuxième cellule est supprimée lorsque la première pourrait être recalculée par soustraction. Une cellule supprimée est remplacée par « — ».",
        "Rule: a non-zero count below the threshold is suppressed with every value derived from it; a second cell is suppressed when the first could be recovered by subtraction. A suppressed cell shows \"—\".",
    ),
    (
        "scorecard_section",
        "Tableau de bord régional : indicateurs avec cible",
        "Regional scorecard: indicators with targets",
    ),
    ("previous", "Période précédente", "Previous period"),
    ("trend", "Tendance", "Trend"),
    (
        "evaluation_section",
        "Évaluation du programme de coordination des soins",
        "Care-coordination program evaluation",
    ),
    ("unit_col", "Équipe", "Team"),
    ("ed_naive", "Urgence, avant/après", "ED, before/after"),
    ("ed_adjusted", "Urgence, ajusté", "ED, adjusted"),
    (
        "adm_naive",
        "Hospit., avant/après",
        "Admissions, before/after",
    ),
    ("adm_adjusted", "Hospit., ajusté", "Admissions, adjusted"),
    (
        "dq_section",
        "Complétude et actualité des données par source",
        "Data completeness and timeliness by source",
    ),
    (
        "completeness_min",
        "Complétude des champs obligatoires (minimum)",
        "Completeness of mandatory fields (lowest)",
    ),
    ("rejected_pct", "Lignes rejetées", "Rows rejected"),
    ("methods_section", "Annexe : méthodes", "Appendix: methods"),
    (
        "methods_intro",
        "Définitions tirées du catalogue d'indicateurs. Intervalles de confiance à 95 %.",
        "Definitions from the indicator catalogue. 95% confidence intervals.",
    ),
    ("m_numerator", "Numérateur", "Numerator"),
    ("m_denominator", "Dénominateur", "Denominator"),
    ("m_unit", "Unité", "Unit"),
    ("m_direction", "Sens souhaité", "Better when"),
    ("m_period", "Période", "Period"),
    ("m_method", "Méthode et intervalle", "Method and interval"),
    ("m_target", "Cible", "Target"),
    ("m_suppression", "Divulgation", "Disclosure"),
    (
        "m_min_denominator",
        "Non publié sous un dénominateur de",
        "Not reported below a denominator of",
    ),
];

/// A label.
pub fn text(key: &str, lang: Lang) -> &'static str {
    LABELS
        .iter()
        .find(|(k, _, _)| *k == key)
        .map(|(_, fr, en)| match lang {
            Lang::Fr => *fr,
            Lang::En => *en,
        })
        .unwrap_or("")
}

/// Every label, for the templates.
pub fn all(lang: Lang) -> BTreeMap<&'static str, &'static str> {
    LABELS
        .iter()
        .map(|(k, fr, en)| {
            (
                *k,
                match lang {
                    Lang::Fr => *fr,
                    Lang::En => *en,
                },
            )
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_unique_and_both_languages_are_filled() {
        let mut seen = std::collections::BTreeSet::new();
        for (k, fr, en) in LABELS {
            assert!(seen.insert(*k), "duplicate label {k}");
            assert!(
                !fr.is_empty() && !en.is_empty(),
                "label {k} lacks a language"
            );
        }
    }
}
