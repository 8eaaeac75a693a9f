//! `vigie serve` against a real Prometheus (Debian's `prometheus` package, installed by
//! `.ci/run`): values scraped equal the published results, every PromQL expression of the
//! dashboards returns data, promtool accepts the exposition, the alert rules and the
//! OpenMetrics history; a bearer token protects /metrics; SIGTERM stops the server cleanly.

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::common::*;

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port")
}

/// A minimal HTTP/1.0 GET on loopback: (status, body).
fn http_get(port: u16, path: &str, token: Option<&str>) -> Option<(u16, String)> {
    let mut stream = TcpStream::connect(("127.0.0.1", port)).ok()?;
    stream
        .set_read_timeout(Some(Duration::from_secs(30)))
        .ok()?;
    let auth = token
        .map(|t| format!("Authorization: Bearer {t}\r\n"))
        .unwrap_or_default();
    write!(
        stream,
        "GET {path} HTTP/1.0\r\nHost: 127.0.0.1\r\n{auth}\r\n"
    )
    .ok()?;
    let mut raw = Vec::new();
    stream.read_to_end(&mut raw).ok()?;
    let text = String::from_utf8_lossy(&raw).into_owned();
    let status = text.split_whitespace().nth(1)?.parse().ok()?;
    let body = text
        .split_once("\r\n\r\n")
        .map(|(_, b)| b.to_string())
        .unwrap_or_default();
    Some((status, body))
}

fn encode(q: &str) -> String {
    q.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// Runs an instant PromQL query; Err carries Prometheus's error.
fn promql(port: u16, query: &str) -> Result<Vec<Value>, String> {
    let (status, body) = http_get(
        port,
        &format!("/api/v1/query?query={}", encode(query)),
        None,
    )
    .ok_or("no answer")?;
    let json: Value =
        serde_json::from_str(&body).map_err(|e| format!("HTTP {status}: {e}: {body}"))?;
    if json["status"] != "success" {
        return Err(format!("{}: {}", json["errorType"], json["error"]));
    }
    Ok(json["data"]["result"]
        .as_array()
        .cloned()
        .unwrap_or_default())
}

fn wait_for(what: &str, secs: u64, mut ok: impl FnMut() -> bool) {
    let start = Instant::now();
    while start.elapsed() < Duration::from_secs(secs) {
        if ok() {
            return;
        }
        std::thread::sleep(Duration::from_millis(500));
    }
    panic!("timed out after {secs}s waiting for {what}");
}

struct Killed(Child);
impl Drop for Killed {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// The path of a real-component binary on PATH. These tests are `#[ignore]`d, so they run
/// only when asked for: a missing binary then fails the test, it never passes silently.
fn need(bin: &str) -> PathBuf {
    let found = std::env::var_os("PATH").and_then(|p| {
        std::env::split_paths(&p)
            .map(|d| d.join(bin))
            .find(|p| p.is_file())
    });
    match found {
        Some(path) => path,
        None => panic!("`{bin}` is not installed: apt-get install prometheus (.ci/run does)"),
    }
}

/// Starts `vigie serve` on `port` with extra arguments and the pipeline; killed on drop.
fn spawn_serve(port: u16, extra: &[&str], pipeline: &Path) -> Killed {
    spawn_serve_all(port, extra, &[pipeline])
}

/// Starts `vigie serve` on `port` with extra arguments and several pipelines.
fn spawn_serve_all(port: u16, extra: &[&str], pipelines: &[&Path]) -> Killed {
    let child = Command::new(env!("CARGO_BIN_EXE_vigie"))
        .arg("serve")
        .args(["--listen", &format!("127.0.0.1:{port}")])
        .args(extra)
        .args(pipelines)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("start vigie serve");
    Killed(child)
}

/// A pipeline file named `served` with absolute paths to a landing zone and warehouse of
/// the test.
fn pipeline_file(dir: &Path, landing: &Path, warehouse: &Path) -> PathBuf {
    named_pipeline_file(dir, "served", landing, warehouse)
}

/// A pipeline file `dir/<name>.yaml` whose `name` is `name`, its reports in `dir/reports`.
fn named_pipeline_file(dir: &Path, name: &str, landing: &Path, warehouse: &Path) -> PathBuf {
    std::fs::create_dir_all(dir).expect("mkdir");
    let sources = repo().join("pipelines/sources");
    let list: Vec<String> = [
        "registre-population",
        "hospital-a-ed",
        "hopital-b-episodes",
        "programme-psm",
        "sondage-experience",
        // The area deprivation quintiles: the equity strata and their disparity series.
        "area-deprivation",
        // The care pathway: the quality-improvement dashboard's pathway table.
        "soins-communautaires",
        "ereferral",
    ]
    .iter()
    .map(|s| sources.join(format!("{s}.yaml")).display().to_string())
    .collect();
    let yaml = format!(
        "name: {name}\ndemo: true\nlanding: {}\nwarehouse: {}\nkey: demo\nsources: [{}]\nschedule: {{ cron: \"0 6 * * MON\", timezone: America/Toronto }}\nindicators: {{ queries: {}, bootstrap_replicates: 500 }}\noutputs: {{ reports: [{{ kind: accountability, languages: [en], to: {} }}] }}\n",
        landing.display(),
        warehouse.display(),
        list.join(", "),
        repo().join("queries").display(),
        dir.join("reports").display()
    );
    let path = dir.join(format!("{name}.yaml"));
    std::fs::write(&path, yaml).expect("write pipeline");
    path
}

/// Every PromQL expression of a dashboard (panel targets), and its template variables.
fn dashboard_queries(json: &Value) -> (Vec<String>, Vec<Variable>) {
    fn walk(v: &Value, out: &mut Vec<String>) {
        match v {
            Value::Object(m) => {
                if let Some(Value::String(e)) = m.get("expr") {
                    out.push(e.clone());
                }
                for (k, x) in m {
                    if k != "templating" {
                        walk(x, out);
                    }
                }
            }
            Value::Array(a) => a.iter().for_each(|x| walk(x, out)),
            _ => {}
        }
    }
    let mut exprs = Vec::new();
    walk(json, &mut exprs);
    // Query and custom variables: a datasource variable lists Grafana's datasources, not series.
    let vars = json["templating"]["list"]
        .as_array()
        .map(|l| l.iter().filter_map(Variable::of).collect())
        .unwrap_or_default();
    (exprs, vars)
}

/// A dashboard template variable the test resolves as Grafana would.
struct Variable {
    name: String,
    /// `label_values(series, label)` or `query_result(expr)`; empty for a custom variable.
    query: String,
    /// Grafana's regex over `query_result` lines, with `value` and `text` groups.
    regex: String,
    /// A custom variable's current (else first) value.
    custom: Option<String>,
}

impl Variable {
    fn of(v: &Value) -> Option<Variable> {
        let name = v["name"].as_str()?.to_string();
        let custom =
            match v["type"].as_str()? {
                "query" => None,
                "custom" => Some(v["current"]["value"].as_str().map(str::to_string).or_else(
                    || {
                        v["query"]
                            .as_str()
                            .and_then(|q| q.split(',').next())
                            .map(|s| s.trim().to_string())
                    },
                )?),
                _ => return None,
            };
        let query = match &v["query"] {
            Value::String(s) if custom.is_none() => s.clone(),
            Value::Object(o) => o
                .get("query")
                .and_then(Value::as_str)
                .unwrap_or("")
                .to_string(),
            _ => String::new(),
        };
        Some(Variable {
            name,
            query,
            regex: v["regex"].as_str().unwrap_or("").to_string(),
            custom,
        })
    }
}

fn substitute(expr: &str, vars: &[(String, String)]) -> String {
    let mut e = expr
        .replace("$__rate_interval", "1m")
        .replace("$__interval", "15s")
        .replace("$__range", "5m")
        .replace("${__rate_interval}", "1m");
    // Longest names first, so $stratum does not eat $stratum_dimension.
    let mut vars = vars.to_vec();
    vars.sort_by_key(|(n, _)| std::cmp::Reverse(n.len()));
    for (name, value) in vars {
        e = e
            .replace(&format!("${{{name}}}"), &value)
            .replace(&format!("${name}"), &value);
    }
    e
}

#[test]
#[ignore = "needs Prometheus and promtool (apt-get install prometheus): cargo test --workspace -- --ignored (.ci/run does)"]
fn serve_feeds_a_real_prometheus_and_every_dashboard_query_returns_data() {
    let (prometheus, promtool) = (need("prometheus"), need("promtool"));
    let dir = tempfile::tempdir().expect("tmp");
    let mut served = ServedRun::start(dir.path());
    served.rendered_its_report(dir.path());
    let (_, exposition) = http_get(served.port, "/metrics", None).expect("scrape");
    promtool_accepts_the_exposition(&promtool, &exposition);

    let (prom_port, _prom) = start_prometheus(&prometheus, dir.path(), served.port);
    prometheus_holds_exactly_the_published_cells(prom_port, &served.warehouse);
    let mut checked = 0;
    for entry in std::fs::read_dir(repo().join("dashboards/grafana/dashboards"))
        .expect("dashboards")
        .flatten()
    {
        checked += every_query_of_the_dashboard_returns_data(prom_port, &entry.path());
    }
    assert!(checked > 40, "checked {checked} queries");
    the_equity_panels_show_the_region_disparities(prom_port);

    served.stops_cleanly_on_sigterm();
    history_becomes_tsdb_blocks(&promtool, &prometheus, &served.pipeline, dir.path());
}

/// The quality-improvement dashboard's disparity panels, for ED visits by deprivation quintile
/// in the region, return numbers, not the NaN placeholder, for some quintile (in a small
/// region the latest month's cells of some quintiles are suppressed, and their gaps with them):
/// the derived series `<indicator>__<measure>` reach Prometheus and the panels select them.
fn the_equity_panels_show_the_region_disparities(prom_port: u16) {
    let path = repo().join("dashboards/grafana/dashboards/vigie-quality-improvement.json");
    let json: Value =
        serde_json::from_str(&std::fs::read_to_string(path).expect("read")).expect("json");
    let vars = |stratum: &str| -> Vec<(String, String)> {
        [
            ("pipeline", ".+"),
            ("indicator", "ed_visits_per_1000"),
            ("org_unit", "region"),
            ("stratum_dimension", "deprivation_quintile"),
            ("stratum", stratum),
        ]
        .iter()
        .map(|(n, v)| (n.to_string(), v.to_string()))
        .collect()
    };
    let mut seen = 0;
    for measure in [
        "__(rate|risk)_difference",
        "__(rate|risk)_ratio",
        "_difference|sii)",
    ] {
        let expr = json["panels"]
            .as_array()
            .expect("panels")
            .iter()
            .flat_map(|p| p["targets"].as_array().cloned().unwrap_or_default())
            .filter_map(|t| t["expr"].as_str().map(str::to_string))
            .find(|e| e.contains(measure) && e.contains("vigie_indicator_value"))
            .unwrap_or_else(|| panic!("a panel shows the value of {measure}"));
        let values: Vec<f64> = ["1", "2", "3", "4"]
            .iter()
            .flat_map(|stratum| {
                let q = substitute(&expr, &vars(stratum)).replace(" or on() vector(NaN)", "");
                promql(prom_port, &q).unwrap_or_else(|e| panic!("{q}: {e}"))
            })
            .filter_map(|r| r["value"][1].as_str()?.parse().ok())
            .filter(|v: &f64| v.is_finite())
            .collect();
        assert!(
            !values.is_empty(),
            "no disparity in any quintile for {expr}"
        );
        seen += values.len();
    }
    assert!(seen >= 3, "{seen}");
}

/// `vigie serve` on a synthetic region, after its start-up run succeeded.
struct ServedRun {
    port: u16,
    serve: Killed,
    pipeline: PathBuf,
    warehouse: PathBuf,
}

impl ServedRun {
    /// Synthesises a region under `dir`, starts `vigie serve --run-on-start` and waits for
    /// the first run to succeed; health and readiness then answer 200.
    fn start(dir: &Path) -> Self {
        let (landing, warehouse) = (dir.join("landing"), dir.join("warehouse"));
        synth(&landing, 1_500, 23);
        let pipeline = pipeline_file(dir, &landing, &warehouse);
        let port = free_port();
        let serve = spawn_serve(port, &["--run-on-start"], &pipeline);
        wait_for("the first run to succeed", 600, || {
            http_get(port, "/metrics", None)
                .is_some_and(|(_, b)| b.contains("vigie_pipeline_last_success_timestamp_seconds"))
        });
        assert_eq!(http_get(port, "/healthz", None).map(|r| r.0), Some(200));
        assert_eq!(http_get(port, "/readyz", None).map(|r| r.0), Some(200));
        ServedRun {
            port,
            serve,
            pipeline,
            warehouse,
        }
    }

    /// The scheduled run also rendered the report its pipeline declares.
    fn rendered_its_report(&self, dir: &Path) {
        let reports: Vec<_> = std::fs::read_dir(dir.join("reports"))
            .expect("reports written")
            .flatten()
            .collect();
        assert!(
            reports.iter().any(|r| r
                .file_name()
                .to_string_lossy()
                .starts_with("accountability-")
                && r.file_name().to_string_lossy().ends_with("-en.html")),
            "{reports:?}"
        );
    }

    /// SIGTERM: the server stops cleanly.
    fn stops_cleanly_on_sigterm(&mut self) {
        let pid = self.serve.0.id().to_string();
        assert!(
            Command::new("kill")
                .args(["-TERM", &pid])
                .status()
                .expect("kill")
                .success()
        );
        let start = Instant::now();
        let status = loop {
            if let Some(s) = self.serve.0.try_wait().expect("wait") {
                break s;
            }
            assert!(
                start.elapsed() < Duration::from_secs(60),
                "vigie serve did not stop on SIGTERM"
            );
            std::thread::sleep(Duration::from_millis(200));
        };
        assert!(status.success(), "vigie serve exited with {status}");
    }
}

/// promtool accepts the exposition (names, units, help, types) and finds nothing to lint.
fn promtool_accepts_the_exposition(promtool: &Path, exposition: &str) {
    let mut check = Command::new(promtool)
        .args(["check", "metrics"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("promtool");
    check
        .stdin
        .take()
        .expect("stdin")
        .write_all(exposition.as_bytes())
        .expect("pipe");
    let out = check.wait_with_output().expect("promtool");
    assert!(
        out.status.success(),
        "promtool check metrics: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    let lint = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(lint.trim().is_empty(), "promtool lint findings: {lint}");
}

/// A real Prometheus scraping `vigie serve` on `port` every second, with the alert rules,
/// once it holds the scheduler and indicator series; killed on drop.
fn start_prometheus(prometheus: &Path, dir: &Path, port: u16) -> (u16, Killed) {
    let prom_port = free_port();
    let config = dir.join("prometheus.yml");
    std::fs::write(
        &config,
        format!(
            "global: {{ scrape_interval: 1s, evaluation_interval: 1s }}\nrule_files: [{}]\nscrape_configs:\n  - job_name: vigie\n    static_configs: [{{ targets: ['127.0.0.1:{port}'] }}]\n",
            repo().join("dashboards/prometheus/vigie-alerts.yaml").display()
        ),
    )
    .expect("write config");
    let prom = Command::new(prometheus)
        .arg(format!("--config.file={}", config.display()))
        .arg(format!(
            "--storage.tsdb.path={}",
            dir.join("tsdb").display()
        ))
        .arg(format!("--web.listen-address=127.0.0.1:{prom_port}"))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("start prometheus");
    let prom = Killed(prom);
    wait_for("Prometheus to scrape vigie", 120, || {
        promql(prom_port, "vigie_scheduler_up").is_ok_and(|r| !r.is_empty())
            && promql(prom_port, "vigie_indicator_value").is_ok_and(|r| !r.is_empty())
    });
    std::thread::sleep(Duration::from_secs(3));
    (prom_port, prom)
}

/// Values in Prometheus equal the published results of each indicator's latest period:
/// every published cell is there, no suppressed one, and nothing else.
fn prometheus_holds_exactly_the_published_cells(prom_port: u16, warehouse: &Path) {
    let rt = tokio::runtime::Runtime::new().expect("runtime");
    let published = rt.block_on(async {
        let wh =
            vigie_warehouse::Warehouse::open(&warehouse.display().to_string()).expect("warehouse");
        let catalogue =
            vigie_indicators::load_catalogue(&repo().join("queries")).expect("catalogue");
        vigie_indicators::published_results(
            &wh,
            &catalogue,
            &vigie_disclosure::DisclosureConfig { min_count: 6 },
        )
        .await
        .expect("results")
    });
    let mut latest = std::collections::BTreeMap::new();
    for r in &published {
        let e = latest.entry(r.indicator.clone()).or_insert(r.period_start);
        *e = (*e).max(r.period_start);
    }
    let scraped = promql(prom_port, "vigie_indicator_value").expect("query");
    let mut compared = 0;
    for r in published
        .iter()
        .filter(|r| latest.get(&r.indicator) == Some(&r.period_start))
    {
        let found = scraped.iter().find(|s| {
            let m = &s["metric"];
            m["indicator"] == r.indicator.as_str()
                && m["org_unit"] == r.org_unit.as_str()
                && m["stratum_dimension"] == r.stratum_dimension.as_str()
                && m["stratum"] == r.stratum_value.as_str()
        });
        match (r.is_suppressed() || r.value.is_none(), found) {
            (true, None) => {}
            (true, Some(s)) => panic!("suppressed cell exported: {s}"),
            (false, None) => panic!("published cell missing from Prometheus: {r:?}"),
            (false, Some(s)) => {
                let v: f64 = s["value"][1]
                    .as_str()
                    .and_then(|v| v.parse().ok())
                    .expect("a number");
                let expected = r.value.unwrap_or(f64::NAN);
                assert!(
                    (v - expected).abs() <= 1e-9 * expected.abs().max(1.0),
                    "{}: {v} != {expected}",
                    r.indicator
                );
                compared += 1;
            }
        }
    }
    assert!(compared > 100, "compared {compared} series");
    assert_eq!(
        scraped.len(),
        compared,
        "Prometheus holds exactly the published cells"
    );
}

/// Every PromQL expression of the dashboard at `path`, its variables resolved from
/// Prometheus, returns data. Returns how many variables and expressions were checked.
fn every_query_of_the_dashboard_returns_data(prom_port: u16, path: &Path) -> usize {
    let json: Value =
        serde_json::from_str(&std::fs::read_to_string(path).expect("read")).expect("json");
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let (exprs, vars) = dashboard_queries(&json);
    let resolved = resolve_variables(prom_port, &name, vars);
    for expr in &exprs {
        let q = substitute(expr, &resolved);
        assert!(!q.contains('$'), "{name}: unresolved variable in {q}");
        let rows = promql(prom_port, &q).unwrap_or_else(|e| panic!("{name}: {q}: {e}"));
        assert!(!rows.is_empty(), "{name}: no data for {q}");
    }
    resolved.len() + exprs.len()
}

/// A value for each of a dashboard's variables, in order (a later one may use an earlier
/// one): the usual choice when Prometheus offers it, else the first value. A variable
/// without values fails. `label_values(series, label)` takes the label's values;
/// `query_result(expr)` applies the variable's regex to each result line as Grafana writes
/// it (`name{label="value", ...} value timestamp`, labels in Prometheus's order) and takes
/// its `value` group, checking that the `text` group (what the reader sees) is there too.
fn resolve_variables(prom_port: u16, name: &str, vars: Vec<Variable>) -> Vec<(String, String)> {
    let mut resolved: Vec<(String, String)> = Vec::new();
    for var in vars {
        if let Some(value) = var.custom {
            resolved.push((var.name, value));
            continue;
        }
        let q = substitute(&var.query, &resolved);
        let mut values = if let Some(expr) = q
            .trim()
            .strip_prefix("query_result(")
            .and_then(|s| s.strip_suffix(')'))
        {
            query_result_values(prom_port, name, &var.name, expr, &var.regex, &resolved)
        } else {
            let inner = q
                .trim()
                .strip_prefix("label_values(")
                .and_then(|s| s.strip_suffix(')'))
                .unwrap_or_else(|| panic!("{name}: variable {}: {q}", var.name));
            let (series, label) = inner.rsplit_once(',').expect("label_values(series, label)");
            promql(prom_port, series.trim())
                .unwrap_or_else(|e| panic!("{name}: variable {}: {series}: {e}", var.name))
                .iter()
                .filter_map(|r| r["metric"][label.trim()].as_str().map(str::to_string))
                .collect()
        };
        values.sort();
        values.dedup();
        let pick = ["ed_visits_per_1000", "region", "all"]
            .iter()
            .find(|p| values.iter().any(|v| v == *p))
            .map(|p| p.to_string());
        let value = pick
            .or_else(|| values.first().cloned())
            .unwrap_or_else(|| panic!("{name}: variable {} has no values", var.name));
        resolved.push((var.name, value));
    }
    resolved
}

/// The values a `query_result(expr)` variable offers, through its regex.
fn query_result_values(
    prom_port: u16,
    name: &str,
    var: &str,
    expr: &str,
    regex: &str,
    resolved: &[(String, String)],
) -> Vec<String> {
    let pattern = substitute(regex, resolved);
    let pattern = pattern
        .strip_prefix('/')
        .and_then(|p| p.strip_suffix('/'))
        .unwrap_or_else(|| panic!("{name}: variable {var}: regex {regex} is not /.../"));
    let re = regex::Regex::new(pattern).unwrap_or_else(|e| panic!("{name}: {var}: {e}"));
    let rows = promql(prom_port, expr).unwrap_or_else(|e| panic!("{name}: {var}: {expr}: {e}"));
    rows.iter()
        .filter_map(|r| {
            let labels = r["metric"].as_object()?;
            let metric = labels.get("__name__").and_then(Value::as_str).unwrap_or("");
            let line = format!(
                "{metric}{{{}}} 1 0",
                labels
                    .iter()
                    .filter(|(k, _)| *k != "__name__")
                    .map(|(k, v)| format!("{k}=\"{}\"", v.as_str().unwrap_or("")))
                    .collect::<Vec<_>>()
                    .join(", ")
            );
            let caps = re.captures(&line)?;
            assert!(
                caps.name("text").is_some_and(|t| !t.as_str().is_empty()),
                "{name}: variable {var}: no text in {line}"
            );
            Some(caps.name("value")?.as_str().to_string())
        })
        .collect()
}

/// History: the OpenMetrics export of the pipeline's results, turned into TSDB blocks by
/// promtool.
fn history_becomes_tsdb_blocks(promtool: &Path, prometheus: &Path, pipeline: &Path, dir: &Path) {
    let om = dir.join("history.om");
    let out = Command::new(env!("CARGO_BIN_EXE_vigie"))
        .args(["export", "openmetrics"])
        .arg(pipeline)
        .arg("--out")
        .arg(&om)
        .output()
        .expect("export");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = std::fs::read_to_string(&om).expect("read");
    assert!(text.ends_with("# EOF\n") && text.contains("vigie_indicator_value{"));
    let blocks = dir.join("blocks");
    let out = Command::new(promtool)
        .args(["tsdb", "create-blocks-from", "openmetrics"])
        .arg(&om)
        .arg(&blocks)
        .output()
        .expect("promtool tsdb");
    assert!(
        out.status.success(),
        "promtool tsdb create-blocks-from: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    let n_blocks = std::fs::read_dir(&blocks)
        .map(|d| {
            d.flatten()
                .filter(|e| e.path().join("meta.json").is_file())
                .count()
        })
        .unwrap_or(0);
    assert!(n_blocks > 0, "no TSDB block was created");
    backfilled_history_spans_three_years(prometheus, &blocks, dir);
}

/// A Prometheus started on the backfilled blocks, with the retention the README asks for,
/// answers a three-year range of monthly samples, under the live series' `pipeline` label.
fn backfilled_history_spans_three_years(prometheus: &Path, blocks: &Path, dir: &Path) {
    let config = dir.join("empty-prometheus.yml");
    std::fs::write(&config, "global: { scrape_interval: 1m }\n").expect("write config");
    let port = free_port();
    let _prom = Killed(
        Command::new(prometheus)
            .arg(format!("--config.file={}", config.display()))
            .arg(format!("--storage.tsdb.path={}", blocks.display()))
            .arg("--storage.tsdb.retention.time=10y")
            .arg(format!("--web.listen-address=127.0.0.1:{port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start prometheus"),
    );
    let query = r#"count_over_time(vigie_indicator_value{pipeline="served", indicator="ed_visits_per_1000", org_unit="region", stratum_dimension="all"}[1096d])"#;
    let mut samples = 0.0;
    wait_for("Prometheus to serve the backfilled blocks", 120, || {
        samples = promql(port, query)
            .ok()
            .and_then(|rows| rows.first().cloned())
            .and_then(|row| row["value"][1].as_str().and_then(|v| v.parse().ok()))
            .unwrap_or(0.0);
        samples > 0.0
    });
    assert!(
        samples >= 12.0,
        "a three-year range holds the monthly history: {samples} samples"
    );
}

#[test]
#[ignore = "needs promtool (apt-get install prometheus): cargo test --workspace -- --ignored (.ci/run does)"]
fn alert_rules_and_example_config_pass_promtool() {
    let promtool = need("promtool");
    let rules = repo().join("dashboards/prometheus/vigie-alerts.yaml");
    let out = Command::new(&promtool)
        .args(["check", "rules"])
        .arg(&rules)
        .output()
        .expect("promtool");
    assert!(
        out.status.success(),
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    let config = repo().join("dashboards/prometheus/prometheus.example.yml");
    let out = Command::new(&promtool)
        .args(["check", "config", "--syntax-only"])
        .arg(&config)
        .output()
        .expect("promtool");
    assert!(
        out.status.success(),
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn a_bearer_token_protects_metrics_but_not_health() {
    let dir = tempfile::tempdir().expect("tmp");
    let (landing, warehouse) = (dir.path().join("landing"), dir.path().join("warehouse"));
    std::fs::create_dir_all(&landing).expect("mkdir");
    let pipeline = pipeline_file(dir.path(), &landing, &warehouse);
    let token = dir.path().join("token");
    std::fs::write(&token, "s3cret-token-for-tests\n").expect("write");
    let port = free_port();
    let token_arg = token.display().to_string();
    let child = spawn_serve(
        port,
        &["--bearer-token-file", token_arg.as_str()],
        &pipeline,
    );
    let _child = child;
    wait_for("vigie serve to listen", 120, || {
        http_get(port, "/healthz", None).is_some_and(|r| r.0 == 200)
    });
    assert_eq!(http_get(port, "/metrics", None).map(|r| r.0), Some(401));
    assert_eq!(
        http_get(port, "/metrics", Some("wrong")).map(|r| r.0),
        Some(401)
    );
    // A prefix of the token and a longer string that starts with it are both refused.
    assert_eq!(
        http_get(port, "/metrics", Some("s3cret-token-for-test")).map(|r| r.0),
        Some(401)
    );
    assert_eq!(
        http_get(port, "/metrics", Some("s3cret-token-for-tests2")).map(|r| r.0),
        Some(401)
    );
    let (status, body) =
        http_get(port, "/metrics", Some("s3cret-token-for-tests")).expect("scrape");
    assert_eq!(status, 200);
    assert!(body.contains("vigie_scheduler_up 1"), "{body}");
}

/// Runs `vigie serve` expecting it to refuse to start: its stderr. Killed if it serves.
fn refused_start(
    token_file: Option<&Path>,
    token_variable: Option<&str>,
    pipeline: &Path,
) -> String {
    let mut command = Command::new(env!("CARGO_BIN_EXE_vigie"));
    command
        .arg("serve")
        .args(["--listen", &format!("127.0.0.1:{}", free_port())])
        .env_remove("VIGIE_METRICS_TOKEN")
        .stdout(Stdio::null())
        .stderr(Stdio::piped());
    if let Some(file) = token_file {
        command.arg("--bearer-token-file").arg(file);
    }
    if let Some(value) = token_variable {
        command.env("VIGIE_METRICS_TOKEN", value);
    }
    let mut child = Killed(command.arg(pipeline).spawn().expect("start vigie serve"));
    let start = Instant::now();
    let status = loop {
        if let Some(status) = child.0.try_wait().expect("wait") {
            break status;
        }
        assert!(
            start.elapsed() < Duration::from_secs(30),
            "vigie serve started instead of refusing"
        );
        std::thread::sleep(Duration::from_millis(20));
    };
    assert!(!status.success(), "vigie serve exited with {status}");
    let mut stderr = String::new();
    child
        .0
        .stderr
        .take()
        .expect("stderr")
        .read_to_string(&mut stderr)
        .expect("read stderr");
    stderr
}

#[test]
fn an_empty_or_unreadable_token_is_refused_at_start_up() {
    let dir = tempfile::tempdir().expect("tmp");
    let pipeline = pipeline_file(
        dir.path(),
        &dir.path().join("landing"),
        &dir.path().join("warehouse"),
    );
    let blank = dir.path().join("blank.token");
    std::fs::write(&blank, " \n\t\n").expect("write");
    let stderr = refused_start(Some(&blank), None, &pipeline);
    assert!(
        stderr.contains(&blank.display().to_string())
            && stderr.contains("is empty")
            && stderr.contains("write the token"),
        "{stderr}"
    );
    let missing = dir.path().join("missing.token");
    let stderr = refused_start(Some(&missing), None, &pipeline);
    assert!(
        stderr.contains(&missing.display().to_string()) && stderr.contains("cannot read"),
        "{stderr}"
    );
    let stderr = refused_start(None, Some("  "), &pipeline);
    assert!(
        stderr.contains("VIGIE_METRICS_TOKEN") && stderr.contains("is empty"),
        "{stderr}"
    );
}

/// Reads until the server closes the connection: how long that took, or None if it is
/// still open after `wait`.
fn closed_after(stream: &mut TcpStream, wait: Duration) -> Option<Duration> {
    let start = Instant::now();
    stream.set_read_timeout(Some(wait)).expect("timeout");
    let mut buf = [0u8; 1024];
    loop {
        match stream.read(&mut buf) {
            Ok(0) => return Some(start.elapsed()),
            Ok(_) => {}
            Err(e)
                if matches!(
                    e.kind(),
                    std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                ) =>
            {
                return None;
            }
            Err(_) => return Some(start.elapsed()),
        }
    }
}

#[test]
fn serve_disconnects_a_slowloris_client_and_caps_connections() {
    let dir = tempfile::tempdir().expect("tmp");
    let (landing, warehouse) = (dir.path().join("landing"), dir.path().join("warehouse"));
    std::fs::create_dir_all(&landing).expect("mkdir");
    let pipeline = pipeline_file(dir.path(), &landing, &warehouse);
    let port = free_port();
    let _serve = spawn_serve(
        port,
        &["--header-timeout-secs", "1", "--max-connections", "2"],
        &pipeline,
    );
    wait_for("vigie serve to listen", 120, || {
        http_get(port, "/healthz", None).is_some_and(|r| r.0 == 200)
    });
    // Slowloris: half a request line, then silence. Cut after the 1 s header timeout.
    let mut slow = TcpStream::connect(("127.0.0.1", port)).expect("connect");
    slow.write_all(b"GET /metr").expect("write");
    let after = closed_after(&mut slow, Duration::from_secs(5)).expect("disconnected");
    assert!(
        after > Duration::from_millis(800) && after < Duration::from_secs(3),
        "disconnected after {after:?}"
    );
    // The cap (2): two silent connections hold it (the backlog is accepted in order); a
    // third is not served until one closes.
    let holders: Vec<TcpStream> = (0..2)
        .map(|_| TcpStream::connect(("127.0.0.1", port)).expect("connect"))
        .collect();
    let mut third = TcpStream::connect(("127.0.0.1", port)).expect("connect");
    third
        .write_all(b"GET /healthz HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n")
        .expect("write");
    third
        .set_read_timeout(Some(Duration::from_millis(400)))
        .expect("timeout");
    let mut buf = [0u8; 256];
    assert!(third.read(&mut buf).is_err(), "served over the cap");
    drop(holders);
    third
        .set_read_timeout(Some(Duration::from_secs(5)))
        .expect("timeout");
    let mut answer = String::new();
    third.read_to_string(&mut answer).expect("served");
    assert!(
        answer.starts_with("HTTP/1.0 200") || answer.starts_with("HTTP/1.1 200"),
        "{answer}"
    );
}

#[test]
fn a_failing_pipeline_is_retried_recorded_and_does_not_stop_the_scheduler() {
    let dir = tempfile::tempdir().expect("tmp");
    // The landing zone does not exist: every attempt fails.
    let pipeline = pipeline_file(
        dir.path(),
        &dir.path().join("missing-landing"),
        &dir.path().join("warehouse"),
    );
    let port = free_port();
    let child = spawn_serve(
        port,
        &[
            "--run-on-start",
            "--max-attempts",
            "2",
            "--retry-delay-secs",
            "1",
        ],
        &pipeline,
    );
    let _child = child;
    wait_for("two failed attempts", 120, || {
        http_get(port, "/metrics", None).is_some_and(|(_, b)| {
            b.contains("vigie_pipeline_runs_total{pipeline=\"served\",status=\"failure\"} 2")
        })
    });
    let (_, body) = http_get(port, "/metrics", None).expect("scrape");
    assert!(
        body.contains("vigie_pipeline_last_failure_timestamp_seconds{pipeline=\"served\"}"),
        "{body}"
    );
    assert!(
        body.contains("vigie_scheduler_up 1"),
        "the scheduler keeps running: {body}"
    );
    assert_eq!(http_get(port, "/healthz", None).map(|r| r.0), Some(200));
    // Both attempts are in the run history, with the error that names the landing zone.
    let warehouse = dir.path().join("warehouse");
    let history = crate::common::query(
        &warehouse,
        "SELECT attempt, status, error FROM run_history ORDER BY attempt",
    );
    let rt = tokio::runtime::Runtime::new().expect("runtime");
    let cells = all_text(&rt.block_on(history));
    assert_eq!(
        cells.iter().filter(|c| *c == "failure").count(),
        2,
        "{cells:?}"
    );
    assert!(
        cells.iter().any(|c| c.contains("missing-landing")),
        "{cells:?}"
    );
}

/// Synthesises a region of `teams` care teams under `dir` and writes its pipeline `name`.
fn region(dir: &Path, name: &str, persons: u64, seed: u64, teams: u32) -> PathBuf {
    std::fs::create_dir_all(dir).expect("mkdir");
    let (landing, warehouse) = (dir.join("landing"), dir.join("warehouse"));
    let cfg = vigie_synth::SynthConfig {
        persons,
        seed,
        teams,
        ..vigie_synth::SynthConfig::default()
    };
    vigie_synth::generate(&cfg, &landing).expect("synthetic region");
    named_pipeline_file(dir, name, &landing, &warehouse)
}

/// The `org_unit`s of `series` in Prometheus, by `pipeline` label.
fn org_units_by_pipeline(
    prom_port: u16,
    series: &str,
) -> std::collections::BTreeMap<String, std::collections::BTreeSet<String>> {
    let mut out: std::collections::BTreeMap<_, std::collections::BTreeSet<_>> = Default::default();
    for row in promql(prom_port, series).expect("query") {
        let m = &row["metric"];
        let pipeline = m["pipeline"]
            .as_str()
            .expect("a pipeline label")
            .to_string();
        if let Some(unit) = m["org_unit"].as_str() {
            out.entry(pipeline).or_default().insert(unit.to_string());
        }
    }
    out
}

#[test]
#[ignore = "needs Prometheus (apt-get install prometheus): cargo test --workspace -- --ignored (.ci/run does)"]
fn two_regions_of_different_teams_show_side_by_side_in_a_real_prometheus() {
    let prometheus = need("prometheus");
    let dir = tempfile::tempdir().expect("tmp");
    // Nord has teams T01-T03, Sud T01-T08: T04-T08 exist only in Sud.
    let nord = region(&dir.path().join("nord"), "nord", 900, 41, 3);
    let sud = region(&dir.path().join("sud"), "sud", 900, 43, 8);
    let port = free_port();
    let _serve = spawn_serve_all(port, &["--run-on-start"], &[&nord, &sud]);
    wait_for("both start-up runs to succeed", 900, || {
        http_get(port, "/metrics", None).is_some_and(|(_, b)| {
            ["nord", "sud"].iter().all(|p| {
                b.contains(&format!(
                    "vigie_pipeline_last_success_timestamp_seconds{{pipeline=\"{p}\"}}"
                ))
            })
        })
    });
    assert_eq!(http_get(port, "/readyz", None).map(|r| r.0), Some(200));
    let (prom_port, _prom) = start_prometheus(&prometheus, dir.path(), port);
    wait_for("both regions in Prometheus", 60, || {
        org_units_by_pipeline(prom_port, "vigie_indicator_value").len() == 2
    });
    let units = org_units_by_pipeline(prom_port, "vigie_indicator_value");
    let team = |t: &str| t.starts_with('T');
    let nord_teams: Vec<_> = units["nord"].iter().filter(|u| team(u)).collect();
    let sud_teams: Vec<_> = units["sud"].iter().filter(|u| team(u)).collect();
    assert!(
        nord_teams.iter().all(|t| t.as_str() <= "T03"),
        "nord shows only its own teams: {nord_teams:?}"
    );
    assert!(
        sud_teams.iter().any(|t| t.as_str() > "T03"),
        "sud's own teams are there: {sud_teams:?}"
    );
    for p in ["nord", "sud"] {
        assert!(units[p].contains("region"), "{p}: {units:?}");
    }
    // The same cell of the two regions is two series with their own values.
    let region_rate = promql(
        prom_port,
        r#"vigie_indicator_value{indicator="ed_visits_per_1000", org_unit="region", stratum_dimension="all"}"#,
    )
    .expect("query");
    let pipelines: std::collections::BTreeSet<_> = region_rate
        .iter()
        .filter_map(|r| r["metric"]["pipeline"].as_str())
        .collect();
    assert_eq!(pipelines, ["nord", "sud"].into_iter().collect());
    // Every indicator and source family carries the label; info and source series too.
    for family in [
        "vigie_indicator_info",
        "vigie_indicator_value",
        "vigie_source_rows_accepted_total",
        "vigie_source_last_extract_timestamp_seconds",
    ] {
        let rows = promql(prom_port, family).expect("query");
        let labelled: std::collections::BTreeSet<_> = rows
            .iter()
            .map(|r| r["metric"]["pipeline"].as_str().unwrap_or("").to_string())
            .collect();
        assert_eq!(
            labelled,
            ["nord".to_string(), "sud".to_string()]
                .into_iter()
                .collect(),
            "{family}"
        );
    }
    let build = promql(prom_port, "vigie_build_info").expect("query");
    assert_eq!(build.len(), 1, "{build:?}");
    assert_eq!(
        build[0]["metric"]["version"].as_str(),
        Some(env!("CARGO_PKG_VERSION"))
    );
}

#[test]
fn a_run_by_another_process_reaches_a_running_metrics_only_server() {
    let dir = tempfile::tempdir().expect("tmp");
    let pipeline = region(dir.path(), "cron", 600, 47, 3);
    let port = free_port();
    let _serve = spawn_serve(
        port,
        &["--no-schedule", "--watch-interval-secs", "1"],
        &pipeline,
    );
    wait_for("vigie serve to listen", 120, || {
        http_get(port, "/readyz", None).is_some_and(|r| r.0 == 200)
    });
    let (_, before) = http_get(port, "/metrics", None).expect("scrape");
    assert!(
        !before.contains("vigie_indicator_value{"),
        "nothing computed yet: {before}"
    );
    // Counters exist at zero from the start.
    for status in ["success", "failure"] {
        let line = format!("vigie_pipeline_runs_total{{pipeline=\"cron\",status=\"{status}\"}} 0");
        assert!(before.contains(&line), "{line}: {before}");
    }
    assert!(
        before.contains(
            "vigie_source_rows_accepted_total{pipeline=\"cron\",source=\"hospital_a_ed\"} 0"
        ),
        "{before}"
    );
    // As cron would: `vigie run` in another process, while the server keeps running.
    let out = Command::new(env!("CARGO_BIN_EXE_vigie"))
        .arg("run")
        .arg(&pipeline)
        .output()
        .expect("vigie run");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    wait_for("the server to pick up the run", 60, || {
        http_get(port, "/metrics", None).is_some_and(|(_, b)| {
            b.lines()
                .any(|l| l.starts_with("vigie_indicator_value{") && l.contains("pipeline=\"cron\""))
        })
    });
    let (_, after) = http_get(port, "/metrics", None).expect("scrape");
    assert!(
        after.contains("vigie_pipeline_runs_total{pipeline=\"cron\",status=\"success\"} 0"),
        "metrics-only: the server itself ran nothing: {after}"
    );
    let accepted = after
        .lines()
        .find(|l| {
            l.starts_with(
                "vigie_source_rows_accepted_total{pipeline=\"cron\",source=\"hospital_a_ed\"}",
            )
        })
        .and_then(|l| l.rsplit(' ').next())
        .and_then(|v| v.parse::<f64>().ok())
        .expect("the source counter");
    assert!(accepted > 0.0, "{after}");
}

#[test]
fn readyz_fails_while_a_refresh_fails_and_recovers_when_it_works_again() {
    let dir = tempfile::tempdir().expect("tmp");
    std::fs::create_dir_all(dir.path().join("landing")).expect("mkdir");
    // The warehouse path is a file: every refresh fails until it is removed.
    let warehouse = dir.path().join("warehouse");
    std::fs::write(&warehouse, "not a directory").expect("write");
    let pipeline = pipeline_file(dir.path(), &dir.path().join("landing"), &warehouse);
    let port = free_port();
    let _serve = spawn_serve(
        port,
        &["--no-schedule", "--watch-interval-secs", "1"],
        &pipeline,
    );
    wait_for("vigie serve to listen", 120, || {
        http_get(port, "/healthz", None).is_some_and(|r| r.0 == 200)
    });
    let (status, body) = http_get(port, "/readyz", None).expect("readyz");
    assert_eq!(status, 503, "{body}");
    assert!(body.contains("served"), "names the pipeline: {body}");
    let (_, metrics) = http_get(port, "/metrics", None).expect("scrape");
    assert!(
        metrics.contains("vigie_pipeline_metrics_refresh_failing{pipeline=\"served\"} 1"),
        "{metrics}"
    );
    std::fs::remove_file(&warehouse).expect("remove");
    wait_for("the refresh to work again", 30, || {
        http_get(port, "/readyz", None).is_some_and(|r| r.0 == 200)
    });
    let (_, metrics) = http_get(port, "/metrics", None).expect("scrape");
    assert!(
        metrics.contains("vigie_pipeline_metrics_refresh_failing{pipeline=\"served\"} 0"),
        "{metrics}"
    );
}

#[test]
fn two_pipelines_with_one_name_are_refused() {
    let dir = tempfile::tempdir().expect("tmp");
    let (a, b) = (dir.path().join("a"), dir.path().join("b"));
    let pa = named_pipeline_file(&a, "same", &a.join("landing"), &a.join("warehouse"));
    let pb = named_pipeline_file(&b, "same", &b.join("landing"), &b.join("warehouse"));
    let out = Command::new(env!("CARGO_BIN_EXE_vigie"))
        .arg("serve")
        .args(["--listen", &format!("127.0.0.1:{}", free_port())])
        .args([&pa, &pb])
        .output()
        .expect("vigie serve");
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("\"same\"") && stderr.contains("distinct"),
        "{stderr}"
    );
}

/// What the dashboards promise their readers, read from the JSON: any Prometheus datasource
/// (a variable, never a fixed uid), a pipeline variable, ranges fitted to monthly and
/// quarterly indicators, and every panel that shows indicator values in a unit.
#[test]
fn dashboards_choose_their_datasource_and_pipeline_and_show_units() {
    for entry in std::fs::read_dir(repo().join("dashboards/grafana/dashboards"))
        .expect("dashboards")
        .flatten()
    {
        let path = entry.path();
        let text = std::fs::read_to_string(&path).expect("read");
        let name = path.display().to_string();
        let json: Value = serde_json::from_str(&text).expect("json");
        assert!(
            !text.contains("vigie-prometheus"),
            "{name}: a fixed datasource uid"
        );
        let vars = json["templating"]["list"].as_array().expect("variables");
        assert!(
            vars.iter()
                .any(|v| v["type"] == "datasource" && v["query"] == "prometheus"),
            "{name}: no datasource variable"
        );
        assert!(
            vars.iter().any(|v| v["name"] == "pipeline"),
            "{name}: no pipeline variable"
        );
        let panels = json["panels"].as_array().expect("panels");
        for panel in panels {
            let uid = &panel["datasource"]["uid"];
            assert!(
                uid.is_null() || uid == "${datasource}",
                "{name}: panel {} uses datasource {uid}",
                panel["title"]
            );
        }
        let indicators = text.contains("vigie_indicator_value");
        if !indicators {
            continue;
        }
        assert_eq!(json["time"]["from"], "now-3y", "{name}: range");
        assert_eq!(json["refresh"], "1h", "{name}: refresh");
        for panel in panels {
            let exprs: Vec<&str> = panel["targets"]
                .as_array()
                .map(|t| t.iter().filter_map(|t| t["expr"].as_str()).collect())
                .unwrap_or_default();
            let shows_values = exprs
                .iter()
                .any(|e| e.contains("vigie_indicator_value") || e.contains("vigie_indicator_ci_"));
            if !shows_values {
                continue;
            }
            let unit_from_catalogue = panel["transformations"]
                .as_array()
                .is_some_and(|t| t.iter().any(|t| t["id"] == "configFromData"))
                && exprs.iter().any(|e| e.contains("vigie_indicator_info"));
            let unit_column = exprs.iter().all(|e| e.contains("group_left(unit)"));
            // A ratio between two strata (a disparity series `<indicator>__rate_ratio` or
            // `__risk_ratio`) has no unit: 1 is no gap.
            let ratio_only = exprs.iter().all(|e| e.contains("__(rate|risk)_ratio\""));
            let fixed_unit = panel["fieldConfig"]["defaults"]["unit"]
                .as_str()
                .is_some_and(|u| u == "percent" || (u == "none" && ratio_only));
            assert!(
                unit_from_catalogue || unit_column || fixed_unit,
                "{name}: panel {} shows values without a unit",
                panel["title"]
            );
        }
    }
}
