//! Reading a Prometheus text exposition (what `GET /metrics` returns): the samples, and sums
//! over those matching some labels. Used by the load generator's summary and by the tests.

/// One sample line: `name{labels} value`.
#[derive(Debug, Clone, PartialEq)]
pub struct Sample<'a> {
    /// Metric name (with any `_bucket` / `_sum` / `_count` suffix).
    pub name: &'a str,
    /// Label pairs as written (values are not unescaped: this frontend's contain no quotes).
    pub labels: Vec<(&'a str, &'a str)>,
    /// The value.
    pub value: f64,
}

impl Sample<'_> {
    /// The value of label `key`.
    pub fn label(&self, key: &str) -> Option<&str> {
        self.labels.iter().find(|(k, _)| *k == key).map(|(_, v)| *v)
    }
}

/// Parses one sample line; `None` for comments, blank lines and anything malformed.
fn parse_line(line: &str) -> Option<Sample<'_>> {
    let line = line.trim();
    if line.is_empty() || line.starts_with('#') {
        return None;
    }
    let (name, labels, rest) = match line.find('{') {
        Some(open) => {
            let close = line.rfind('}')?;
            (
                &line[..open],
                parse_labels(&line[open + 1..close])?,
                &line[close + 1..],
            )
        }
        None => {
            let space = line.find(' ')?;
            (&line[..space], Vec::new(), &line[space..])
        }
    };
    let value = rest.split_whitespace().next()?;
    let value = match value {
        "+Inf" => f64::INFINITY,
        "-Inf" => f64::NEG_INFINITY,
        v => v.parse().ok()?,
    };
    Some(Sample {
        name,
        labels,
        value,
    })
}

fn parse_labels(mut s: &str) -> Option<Vec<(&str, &str)>> {
    let mut labels = Vec::new();
    while !s.is_empty() {
        let eq = s.find('=')?;
        let key = s[..eq].trim_start_matches(',').trim();
        let after = s[eq + 1..].strip_prefix('"')?;
        let end = after.find('"')?;
        labels.push((key, &after[..end]));
        s = after[end + 1..].trim_start_matches(',');
    }
    Some(labels)
}

/// Every sample in `text`.
pub fn samples(text: &str) -> impl Iterator<Item = Sample<'_>> {
    text.lines().filter_map(parse_line)
}

/// The sum of metric `name` over the samples whose labels include all of `labels`.
pub fn sum(text: &str, name: &str, labels: &[(&str, &str)]) -> f64 {
    samples(text)
        .filter(|s| s.name == name)
        .filter(|s| labels.iter().all(|(k, v)| s.label(k) == Some(*v)))
        .map(|s| s.value)
        .sum()
}
