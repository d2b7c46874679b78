//! # ztnic-plot — SVG line charts for the benchmarks
//!
//! A benchmark prints its figures and, where a curve says more than a table
//! (throughput by frame size, a latency distribution), also writes a chart: a
//! self-contained SVG file with axes, ticks, one polyline per series and a legend.
//! No fonts or other files are needed to draw or view it.

use std::fmt::Write as _;
use std::path::Path;

/// One named curve.
#[derive(Clone, Debug, PartialEq)]
pub struct Series {
    pub name: String,
    pub points: Vec<(f64, f64)>,
}

impl Series {
    pub fn new(name: impl Into<String>, points: Vec<(f64, f64)>) -> Series {
        Series {
            name: name.into(),
            points,
        }
    }
}

/// A line chart.
#[derive(Clone, Debug, PartialEq)]
pub struct Chart {
    pub title: String,
    pub x_label: String,
    pub y_label: String,
    /// A base-10 logarithmic x axis (every x must be positive).
    pub x_log: bool,
    /// The y range; by default from 0 (or the lowest y, if negative) to the highest.
    pub y_range: Option<(f64, f64)>,
    pub series: Vec<Series>,
}

/// Why a chart cannot be drawn.
#[derive(Debug, PartialEq, Eq)]
pub enum PlotError {
    /// No series has a point.
    Empty,
    /// A coordinate is not finite, or not positive on a logarithmic axis.
    BadPoint(String),
}

impl std::fmt::Display for PlotError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            PlotError::Empty => write!(f, "nothing to plot"),
            PlotError::BadPoint(s) => write!(f, "cannot plot {s}"),
        }
    }
}

impl std::error::Error for PlotError {}

const W: f64 = 720.0;
const H: f64 = 420.0;
const LEFT: f64 = 78.0;
const RIGHT: f64 = 24.0;
const TOP: f64 = 44.0;
const BOTTOM: f64 = 58.0;
const COLOURS: [&str; 6] = [
    "#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b",
];

fn escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// About five round tick values covering `lo..=hi`.
fn ticks(lo: f64, hi: f64) -> Vec<f64> {
    let span = (hi - lo).max(f64::MIN_POSITIVE);
    let raw = span / 5.0;
    let mag = 10f64.powf(raw.log10().floor());
    let step = [1.0, 2.0, 2.5, 5.0, 10.0]
        .iter()
        .map(|m| m * mag)
        .find(|s| span / s <= 6.0)
        .unwrap_or(10.0 * mag);
    let mut v = Vec::new();
    let mut t = (lo / step).ceil() * step;
    while t <= hi + step * 1e-9 {
        v.push(if t.abs() < step * 1e-9 { 0.0 } else { t });
        t += step;
    }
    v
}

fn label(v: f64) -> String {
    if v == 0.0 {
        "0".into()
    } else if v.abs() >= 1e6 || v.abs() < 1e-3 {
        format!("{v:.1e}")
    } else if v.fract().abs() < 1e-9 {
        format!("{v:.0}")
    } else {
        let s = format!("{v:.3}");
        s.trim_end_matches('0').trim_end_matches('.').to_string()
    }
}

impl Chart {
    pub fn new(
        title: impl Into<String>,
        x_label: impl Into<String>,
        y_label: impl Into<String>,
    ) -> Chart {
        Chart {
            title: title.into(),
            x_label: x_label.into(),
            y_label: y_label.into(),
            x_log: false,
            y_range: None,
            series: Vec::new(),
        }
    }

    /// Adds a series.
    pub fn with(mut self, s: Series) -> Chart {
        self.series.push(s);
        self
    }

    /// The chart as an SVG document.
    pub fn to_svg(&self) -> Result<String, PlotError> {
        let pts: Vec<(f64, f64)> = self
            .series
            .iter()
            .flat_map(|s| s.points.iter().copied())
            .collect();
        if pts.is_empty() {
            return Err(PlotError::Empty);
        }
        for &(x, y) in &pts {
            if !x.is_finite() || !y.is_finite() || (self.x_log && x <= 0.0) {
                return Err(PlotError::BadPoint(format!("({x}, {y})")));
            }
        }
        let fx = |x: f64| if self.x_log { x.log10() } else { x };
        let (mut x0, mut x1) = pts.iter().fold((f64::MAX, f64::MIN), |(a, b), p| {
            (a.min(fx(p.0)), b.max(fx(p.0)))
        });
        if x1 - x0 < 1e-12 {
            x0 -= 0.5;
            x1 += 0.5;
        }
        let (y0, mut y1) = self.y_range.unwrap_or_else(|| {
            let lo = pts.iter().map(|p| p.1).fold(0f64, f64::min);
            let hi = pts.iter().map(|p| p.1).fold(f64::MIN, f64::max);
            (lo, hi * 1.05)
        });
        if y1 - y0 < 1e-12 {
            y1 = y0 + 1.0;
        }
        let (pw, ph) = (W - LEFT - RIGHT, H - TOP - BOTTOM);
        let px = |x: f64| LEFT + (fx(x) - x0) / (x1 - x0) * pw;
        let py = |y: f64| TOP + ph - (y - y0) / (y1 - y0) * ph;
        let mut s = String::new();
        let _ = writeln!(
            s,
            r#"<svg xmlns="http://www.w3.org/2000/svg" width="{W}" height="{H}" viewBox="0 0 {W} {H}" font-family="sans-serif" font-size="12">"#
        );
        let _ = writeln!(s, r#"<rect width="{W}" height="{H}" fill="white"/>"#);
        let _ = writeln!(
            s,
            r#"<text x="{}" y="24" text-anchor="middle" font-size="15">{}</text>"#,
            W / 2.0,
            escape(&self.title)
        );
        // grid and ticks
        for t in ticks(y0, y1) {
            let y = py(t);
            let _ = writeln!(
                s,
                r##"<line x1="{LEFT}" y1="{y:.1}" x2="{:.1}" y2="{y:.1}" stroke="#e0e0e0"/><text x="{:.1}" y="{:.1}" text-anchor="end">{}</text>"##,
                LEFT + pw,
                LEFT - 6.0,
                y + 4.0,
                label(t)
            );
        }
        let xt: Vec<f64> = if self.x_log {
            (x0.floor() as i32..=x1.ceil() as i32)
                .flat_map(|e| [1.0, 2.0, 5.0].map(|m| m * 10f64.powi(e)))
                .filter(|v| (x0 - 1e-9..=x1 + 1e-9).contains(&v.log10()))
                .collect()
        } else {
            ticks(x0, x1)
        };
        for t in xt {
            let x = px(t);
            let _ = writeln!(
                s,
                r##"<line x1="{x:.1}" y1="{TOP}" x2="{x:.1}" y2="{:.1}" stroke="#f0f0f0"/><text x="{x:.1}" y="{:.1}" text-anchor="middle">{}</text>"##,
                TOP + ph,
                TOP + ph + 18.0,
                label(t)
            );
        }
        let _ = writeln!(
            s,
            r#"<rect x="{LEFT}" y="{TOP}" width="{pw}" height="{ph}" fill="none" stroke="black"/>"#
        );
        let _ = writeln!(
            s,
            r#"<text x="{:.1}" y="{:.1}" text-anchor="middle">{}</text>"#,
            LEFT + pw / 2.0,
            H - 14.0,
            escape(&self.x_label)
        );
        let _ = writeln!(
            s,
            r#"<text transform="translate(18,{:.1}) rotate(-90)" text-anchor="middle">{}</text>"#,
            TOP + ph / 2.0,
            escape(&self.y_label)
        );
        // the legend: a box in the top or the bottom right corner, whichever
        // covers fewer points
        let chars = self
            .series
            .iter()
            .map(|x| x.name.chars().count())
            .max()
            .unwrap_or(0);
        let (bw, bh) = (
            40.0 + 6.8 * chars as f64,
            18.0 * self.series.len() as f64 + 4.0,
        );
        let bx = LEFT + pw - bw - 8.0;
        // points along every segment, in pixels
        let trace: Vec<(f64, f64)> = self
            .series
            .iter()
            .flat_map(|ser| {
                let p: Vec<(f64, f64)> = ser
                    .points
                    .iter()
                    .map(|&(x, y)| (px(x), py(y.clamp(y0, y1))))
                    .collect();
                let mut v = p.first().copied().into_iter().collect::<Vec<_>>();
                for w in p.windows(2) {
                    // every 2 pixels or so
                    let d = (w[1].0 - w[0].0).hypot(w[1].1 - w[0].1);
                    let n = (d / 2.0).ceil().max(1.0) as u32;
                    v.extend((1..=n).map(|k| {
                        let t = f64::from(k) / f64::from(n);
                        (
                            w[0].0 + t * (w[1].0 - w[0].0),
                            w[0].1 + t * (w[1].1 - w[0].1),
                        )
                    }));
                }
                v
            })
            .collect();
        let covered = |by: f64| {
            trace
                .iter()
                .filter(|&&(x, y)| (bx..=bx + bw).contains(&x) && (by..=by + bh).contains(&y))
                .count()
        };
        let (top_y, bottom_y) = (TOP + 5.0, TOP + ph - bh - 5.0);
        let by = if covered(bottom_y) < covered(top_y) {
            bottom_y
        } else {
            top_y
        };
        let _ = writeln!(
            s,
            r##"<rect x="{bx:.1}" y="{by:.1}" width="{bw:.1}" height="{bh:.1}" fill="white" fill-opacity="0.85" stroke="#c0c0c0"/>"##
        );
        for (i, ser) in self.series.iter().enumerate() {
            let c = COLOURS[i % COLOURS.len()];
            let path: Vec<String> = ser
                .points
                .iter()
                .map(|&(x, y)| format!("{:.1},{:.1}", px(x), py(y.clamp(y0, y1))))
                .collect();
            let _ = writeln!(
                s,
                r#"<polyline fill="none" stroke="{c}" stroke-width="2" points="{}"/>"#,
                path.join(" ")
            );
            if ser.points.len() <= 40 {
                for p in &path {
                    let (x, y) = p.split_once(',').unwrap_or(("0", "0"));
                    let _ = writeln!(s, r#"<circle cx="{x}" cy="{y}" r="2.5" fill="{c}"/>"#);
                }
            }
            let ly = by + 11.0 + 18.0 * i as f64;
            let lx = bx + 6.0;
            let _ = writeln!(
                s,
                r#"<line x1="{lx}" y1="{ly}" x2="{}" y2="{ly}" stroke="{c}" stroke-width="3"/><text x="{}" y="{}">{}</text>"#,
                lx + 22.0,
                lx + 28.0,
                ly + 4.0,
                escape(&ser.name)
            );
        }
        s.push_str("</svg>\n");
        Ok(s)
    }

    /// Writes the chart to `path` (directories created).
    pub fn write(&self, path: &Path) -> std::io::Result<()> {
        let svg = self
            .to_svg()
            .map_err(|e| std::io::Error::new(std::io::ErrorKind::InvalidInput, e.to_string()))?;
        if let Some(d) = path.parent() {
            std::fs::create_dir_all(d)?;
        }
        std::fs::write(path, svg)
    }
}

/// The empirical distribution of `samples`: (value, fraction of samples ≤ value),
/// sorted by value.
pub fn cdf(samples: &[f64]) -> Vec<(f64, f64)> {
    let mut v: Vec<f64> = samples.iter().copied().filter(|x| x.is_finite()).collect();
    v.sort_by(f64::total_cmp);
    let n = v.len() as f64;
    v.iter()
        .enumerate()
        .map(|(i, &x)| (x, (i + 1) as f64 / n))
        .collect()
}

/// Where the benchmarks write their charts: `$ZTNIC_PLOTS`, else `target/plots`
/// of the workspace.
pub fn plots_dir() -> std::path::PathBuf {
    std::env::var_os("ZTNIC_PLOTS").map_or_else(
        || {
            let crate_dir = Path::new(env!("CARGO_MANIFEST_DIR"));
            // runtime/plot → the workspace root
            let root = crate_dir.ancestors().nth(2).unwrap_or(crate_dir);
            root.join("target/plots")
        },
        std::path::PathBuf::from,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn coords(svg: &str) -> Vec<(f64, f64)> {
        let pl = svg.split("points=\"").nth(1).expect("a polyline");
        pl.split('"')
            .next()
            .expect("points")
            .split(' ')
            .map(|p| {
                let (x, y) = p.split_once(',').expect("x,y");
                (x.parse().expect("x"), y.parse().expect("y"))
            })
            .collect()
    }

    #[test]
    fn points_land_inside_the_plot_area_in_order() {
        let c = Chart::new("t <&>", "x", "y")
            .with(Series::new("a", vec![(0.0, 0.0), (5.0, 1.0), (10.0, 0.5)]));
        let svg = c.to_svg().expect("svg");
        assert!(svg.starts_with("<svg") && svg.trim_end().ends_with("</svg>"));
        assert!(svg.contains("t &lt;&amp;&gt;"), "the title is escaped");
        let p = coords(&svg);
        assert_eq!(p.len(), 3);
        assert!((p[0].0 - LEFT).abs() < 0.1, "x = 0 at the left edge: {p:?}");
        assert!(
            (p[2].0 - (W - RIGHT)).abs() < 0.1,
            "the largest x at the right edge"
        );
        assert!((p[0].1 - (H - BOTTOM)).abs() < 0.1, "y = 0 at the bottom");
        assert!(
            p[1].1 < p[2].1 && p[2].1 < p[0].1,
            "higher y is drawn higher: {p:?}"
        );
        for (x, y) in p {
            assert!((LEFT..=W - RIGHT).contains(&x) && (TOP..=H - BOTTOM).contains(&y));
        }
    }

    #[test]
    fn the_legend_goes_where_the_curves_are_not() {
        let rect_y = |svg: &str| -> f64 {
            let r = svg.split("fill-opacity").next().expect("legend");
            let y = r.rsplit("y=\"").next().expect("y");
            y.split('"').next().expect("value").parse().expect("number")
        };
        // rising to the top right: the legend goes to the bottom
        let up = Chart::new("t", "x", "y").with(Series::new("a", vec![(0.0, 0.0), (10.0, 1.0)]));
        assert!(rect_y(&up.to_svg().expect("svg")) > H / 2.0);
        // falling to the bottom right: it stays at the top
        let down = Chart::new("t", "x", "y").with(Series::new("a", vec![(0.0, 1.0), (10.0, 0.0)]));
        assert!(rect_y(&down.to_svg().expect("svg")) < H / 2.0);
    }

    #[test]
    fn bad_input_is_refused() {
        let c = Chart::new("t", "x", "y");
        assert_eq!(c.to_svg(), Err(PlotError::Empty));
        let c = Chart::new("t", "x", "y").with(Series::new("a", vec![(1.0, f64::NAN)]));
        assert!(matches!(c.to_svg(), Err(PlotError::BadPoint(_))));
        let mut c = Chart::new("t", "x", "y").with(Series::new("a", vec![(0.0, 1.0)]));
        c.x_log = true;
        assert!(matches!(c.to_svg(), Err(PlotError::BadPoint(_))));
    }

    #[test]
    fn ticks_are_round_and_cover_the_range() {
        let t = ticks(0.0, 1.0);
        let want = [0.0, 0.2, 0.4, 0.6, 0.8, 1.0];
        assert_eq!(t.len(), want.len(), "{t:?}");
        assert!(
            t.iter().zip(want).all(|(a, b)| (a - b).abs() < 1e-9),
            "{t:?}"
        );
        let t = ticks(60.0, 9000.0);
        assert!(t.len() >= 3 && t.len() <= 7, "{t:?}");
        assert!(t.iter().all(|v| (60.0..=9000.0).contains(v)));
        assert_eq!(label(2000.0), "2000");
        assert_eq!(label(0.25), "0.25");
    }

    #[test]
    fn cdf_rises_to_one() {
        let c = cdf(&[3.0, 1.0, 2.0, f64::NAN]);
        assert_eq!(c, vec![(1.0, 1.0 / 3.0), (2.0, 2.0 / 3.0), (3.0, 1.0)]);
        assert!(cdf(&[]).is_empty());
    }
}
