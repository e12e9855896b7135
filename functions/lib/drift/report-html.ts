// The drift report as a page people read: one self-contained HTML file (inline CSS and SVG, no
// script, nothing fetched) stored beside the JSON report, opened from S3 or a mail attachment alike.
// Field and category names are user data: everything interpolated is escaped.
import type { AlertDecision } from './alert-policy.ts';
import {
  type CategoricalFieldDrift,
  type Compared,
  type DriftReport,
  type DriftStatus,
  type DriftThresholdsInput,
  DriftThresholdsSchema,
  type FieldDrift,
  type NumericFieldDrift,
} from './drift-report.ts';
import { barChartSvg, escapeHtml as esc } from './histogram-svg.ts';

/** What the page shows: the report and what it was about. */
export interface DriftReportPage {
  readonly report: DriftReport;
  readonly model: string;
  /** The model version compared (the registry's number, or any label). */
  readonly version: string | number;
  /** The capture window, ISO-8601 instants, end exclusive. */
  readonly window: { readonly start: string; readonly end: string };
  /** When the check ran, ISO-8601. */
  readonly generatedAt: string;
  /** The alert policy's decision after this window (with K when known), when the caller applied it. */
  readonly alert?: PageAlert;
  /** The thresholds the report was judged with, for the legend. @default the defaults of DriftThresholdsSchema */
  readonly thresholds?: DriftThresholdsInput;
}

/** What the page shows of the alert state: an `AlertDecision`, and K when the caller knows it. */
export type PageAlert = Pick<AlertDecision, 'state' | 'consecutive' | 'raised' | 'cleared' | 'reason'> & {
  /** K: significant windows in a row that raise the alarm. */
  readonly consecutiveWindows?: number;
};

/** The Content-Security-Policy the page declares: its own inline styles and data: images, nothing else. */
export const DRIFT_REPORT_CSP = "default-src 'none'; style-src 'unsafe-inline'; img-src data:";

const STATUS: Record<DriftStatus, { readonly label: string; readonly icon: string; readonly rank: number }> =
  {
    significant: { label: 'Significant drift', icon: '✖', rank: 0 },
    watch: { label: 'Watch', icon: '▲', rank: 1 },
    'insufficient-data': { label: 'Insufficient data', icon: '?', rank: 2 },
    stable: { label: 'Stable', icon: '✔', rank: 3 },
  };

const HEADLINE: Record<DriftStatus, string> = {
  significant: 'Significant drift: at least one field has moved beyond its threshold',
  watch: 'Watch: some drift, below the significant threshold',
  stable: 'Stable: no judged field has drifted',
  'insufficient-data': 'Insufficient data: this window cannot be judged, neither drift nor no drift',
};

/** One row of the summary and one panel: a field, or the model's scores. */
interface Entry {
  readonly name: string;
  readonly drift: FieldDrift;
  readonly prediction: boolean;
}

// ---- formatting ------------------------------------------------------------------------------

const count = (n: number) => n.toLocaleString('en-US');
const fixed3 = (x: number | null) => (x === null ? '—' : x.toFixed(3));

function percent(share: number | null): string {
  if (share === null) return '—';
  if (share === 0) return '0%';
  if (share > 0 && share < 0.0005) return '<0.1%';
  return `${(share * 100).toFixed(1)}%`;
}

function points(change: number | null): string {
  if (change === null) return '—';
  const v = Math.abs(change * 100).toFixed(1);
  return v === '0.0' ? '±0.0 pp' : `${change > 0 ? '+' : '−'}${v} pp`;
}

/** A number with `digits` significant digits, plainly for everyday magnitudes, in exponent form otherwise. */
function significant(x: number, digits = 5): string {
  if (x === 0) return '0';
  const a = Math.abs(x);
  if (a >= 1e7 || a < 1e-4) return x.toExponential(Math.max(0, digits - 1)).replace('-', '−');
  return x.toLocaleString('en-US', { maximumSignificantDigits: digits }).replace('-', '−');
}

/** Formats for a statistic in the reference and the window: the same decimals for both and the change. */
function measureFormat(c: Compared): {
  value: (x: number | null) => string;
  change: (x: number | null) => string;
} {
  const largest = Math.max(Math.abs(c.reference ?? 0), Math.abs(c.live ?? 0));
  if (largest >= 1e7 || (largest > 0 && largest < 1e-4)) {
    const value = (x: number | null) => (x === null ? '—' : significant(x));
    return { value, change: (x) => (x === null ? '—' : `${x > 0 ? '+' : ''}${significant(x)}`) };
  }
  const decimals = largest === 0 ? 0 : Math.min(8, Math.max(0, 4 - Math.floor(Math.log10(largest))));
  const plain = (x: number) =>
    x
      .toLocaleString('en-US', { minimumFractionDigits: decimals, maximumFractionDigits: decimals })
      .replace('-', '−');
  return {
    value: (x) => (x === null ? '—' : plain(x)),
    change: (x) => (x === null ? '—' : `${x > 0 ? '+' : ''}${plain(x)}`),
  };
}

/** Labels for ascending `edges`, with just enough digits that neighbours read differently. */
function edgeLabels(edges: readonly number[]): string[] {
  for (let digits = 3; digits < 17; digits++) {
    const labels = edges.map((e) => significant(e, digits));
    if (labels.every((label, i) => i === 0 || label !== labels[i - 1])) return labels;
  }
  return edges.map((e) => String(e));
}

function utc(iso: string): string {
  const text = new Date(iso).toISOString();
  const seconds = text.slice(17, 23) === '00.000' ? '' : `:${text.slice(17, 19)}`;
  return `${text.slice(0, 10)} ${text.slice(11, 16)}${seconds} UTC`;
}

function duration(ms: number): string {
  const units: Array<[string, number]> = [
    ['d', 86_400_000],
    ['h', 3_600_000],
    ['min', 60_000],
    ['s', 1_000],
  ];
  const parts: string[] = [];
  let rest = Math.round(ms);
  for (const [unit, size] of units) {
    const k = Math.floor(rest / size);
    if (k > 0) parts.push(`${k} ${unit}`);
    rest -= k * size;
  }
  return parts.length > 0 ? parts.join(' ') : `${ms} ms`;
}

function badge(status: DriftStatus): string {
  const s = STATUS[status];
  return `<span class="badge status-${status}"><span aria-hidden="true">${s.icon}</span> ${s.label}</span>`;
}

// ---- checks ----------------------------------------------------------------------------------

function checkInstant(name: string, value: unknown): number {
  const time = typeof value === 'string' ? Date.parse(value) : Number.NaN;
  if (Number.isNaN(time))
    throw new RangeError(`${name} must be an ISO-8601 instant, got ${JSON.stringify(value)}`);
  return time;
}

function checkPage(page: DriftReportPage): { start: number; end: number } {
  if (typeof page !== 'object' || page === null)
    throw new TypeError('the drift report page needs an input object');
  if (typeof page.model !== 'string' || page.model === '') {
    throw new TypeError(`model must be a non-empty string, got ${JSON.stringify(page.model)}`);
  }
  const version = page.version as unknown;
  if (
    !(
      (typeof version === 'string' && version !== '') ||
      (typeof version === 'number' && Number.isFinite(version))
    )
  ) {
    throw new TypeError(`version must be a non-empty string or a number, got ${JSON.stringify(version)}`);
  }
  const report = page.report as Partial<DriftReport> | undefined;
  if (
    typeof report !== 'object' ||
    report === null ||
    typeof report.status !== 'string' ||
    !Object.hasOwn(STATUS, report.status) ||
    typeof report.fields !== 'object' ||
    report.fields === null
  ) {
    throw new TypeError('report must be a DriftReport (status, reason, rows, fields, prediction)');
  }
  const start = checkInstant('window.start', page.window?.start);
  const end = checkInstant('window.end', page.window?.end);
  if (end < start)
    throw new RangeError(`window ends (${page.window.end}) before it starts (${page.window.start})`);
  checkInstant('generatedAt', page.generatedAt);
  return { start, end };
}

// ---- the page --------------------------------------------------------------------------------

/**
 * The drift report as one self-contained HTML page: a header with the window's verdict (and the
 * alert state when given), a summary table of every field worst first, a legend, then a panel per
 * field (and for the model's scores) with the reference and current histograms side by side, each
 * bin's PSI term, and the statistics behind the verdict. No script and no external resource (a
 * strict CSP says so); every name from the data is escaped. Deterministic: the same input gives
 * the same bytes.
 *
 * @throws TypeError or RangeError naming the bad input (missing model, unparseable instant, …).
 */
export function renderDriftReportHtml(page: DriftReportPage): string {
  const { start, end } = checkPage(page);
  const thresholds = DriftThresholdsSchema.parse(page.thresholds ?? {});
  const { report } = page;
  const entries: Entry[] = Object.entries(report.fields).map(([name, drift]) => ({
    name,
    drift,
    prediction: false,
  }));
  if (report.prediction) entries.push({ name: 'model score', drift: report.prediction, prediction: true });
  entries.sort(
    (a, b) =>
      STATUS[a.drift.status].rank - STATUS[b.drift.status].rank ||
      (b.drift.psi ?? -1) - (a.drift.psi ?? -1) ||
      (a.name < b.name ? -1 : a.name > b.name ? 1 : 0),
  );
  const version = String(page.version);
  const title = `Drift report: ${page.model} version ${version}, window ending ${utc(page.window.end)}`;
  return [
    '<!doctype html>',
    '<html lang="en">',
    '<head>',
    '<meta charset="utf-8">',
    `<meta http-equiv="Content-Security-Policy" content="${DRIFT_REPORT_CSP}">`,
    '<meta name="referrer" content="no-referrer">',
    '<meta name="viewport" content="width=device-width, initial-scale=1">',
    '<meta name="color-scheme" content="light">',
    `<title>${esc(title)}</title>`,
    `<style>${STYLE}</style>`,
    '</head>',
    '<body>',
    header(page, version, start, end, entries),
    '<main>',
    summaryTable(entries),
    legend(thresholds),
    '<section class="fields" aria-labelledby="fields-h">',
    '<h2 id="fields-h">Field by field</h2>',
    ...entries.map((entry, i) => panel(entry, i)),
    '</section>',
    '</main>',
    `<footer>Generated ${esc(utc(page.generatedAt))} by the drift check. This page is self-contained: no scripts, nothing loaded from elsewhere.</footer>`,
    '</body>',
    '</html>',
    '',
  ].join('\n');
}

function header(
  page: DriftReportPage,
  version: string,
  start: number,
  end: number,
  entries: Entry[],
): string {
  const { report } = page;
  const tally = (['significant', 'watch', 'insufficient-data', 'stable'] as const)
    .map((status) => [status, entries.filter((e) => e.drift.status === status).length] as const)
    .filter(([, n]) => n > 0)
    .map(([status, n]) => `${n} ${STATUS[status].label.toLowerCase()}`)
    .join(' · ');
  const facts: Array<[string, string]> = [
    [
      'Window',
      `${esc(utc(page.window.start))} → ${esc(utc(page.window.end))} <span class="muted">(${esc(duration(end - start))})</span>`,
    ],
    [
      'Rows',
      `${count(report.rows)} captured <span class="muted">(at least ${count(report.minRows)} needed to judge)</span>`,
    ],
    ['Fields', esc(tally || 'none')],
  ];
  if (page.alert) facts.push(['Alert', alertText(page.alert)]);
  facts.push(['Generated', esc(utc(page.generatedAt))]);
  return [
    `<header class="banner status-${report.status}">`,
    '<p class="eyebrow">Drift report</p>',
    `<h1><bdi>${esc(page.model)}</bdi> <span class="version">version <bdi>${esc(version)}</bdi></span></h1>`,
    `<div class="verdict" role="status">${badge(report.status)}<p class="headline">${esc(HEADLINE[report.status])}</p></div>`,
    `<p class="reason"><span class="muted">Why:</span> ${esc(report.reason)}</p>`,
    '<dl class="facts">',
    ...facts.map(([term, detail]) => `<div><dt>${term}</dt><dd>${detail}</dd></div>`),
    '</dl>',
    '</header>',
  ].join('\n');
}

function alertText(alert: PageAlert): string {
  const state =
    alert.state === 'alarm'
      ? '<span class="badge status-significant">ALARM</span>'
      : alert.state === 'pending'
        ? '<span class="badge status-watch">Pending</span>'
        : '<span class="badge status-stable">OK</span>';
  const change = alert.raised ? ' raised by this window' : alert.cleared ? ' cleared by this window' : '';
  const k = alert.consecutiveWindows === undefined ? '' : `; ${alert.consecutiveWindows} raise the alarm`;
  return `${state}${change} <span class="muted">(${alert.consecutive} significant in a row${k})</span> ${esc(alert.reason)}`;
}

function summaryTable(entries: Entry[]): string {
  const rows = entries.map((entry, i) => {
    const d = entry.drift;
    const ks = d.kind === 'numeric' ? fixed3(d.ks) : '<span class="muted" title="not applicable">n/a</span>';
    const nulls = `${percent(d.nullRate.reference)} → ${percent(d.nullRate.live)} <span class="muted">(${points(d.nullRate.change)})</span>`;
    const enough = d.values >= d.valuesNeeded ? '' : ' class="short"';
    return [
      `<tr class="status-${d.status}">`,
      `<th scope="row"><a href="#field-${i}"><bdi>${esc(entry.name)}</bdi></a></th>`,
      `<td>${entry.prediction ? 'prediction' : d.kind}</td>`,
      `<td>${badge(d.status)}</td>`,
      `<td class="num">${fixed3(d.psi)}</td>`,
      `<td class="num">${ks}</td>`,
      `<td class="num">${nulls}</td>`,
      `<td class="num"${enough}>${count(d.values)} / ${count(d.valuesNeeded)}</td>`,
      `<td class="why">${esc(d.reason)}</td>`,
      '</tr>',
    ].join('');
  });
  return [
    '<section aria-labelledby="summary-h">',
    '<h2 id="summary-h">Summary, worst first</h2>',
    '<div class="scroll"><table class="summary">',
    '<caption>Every field of the profile, and the model score, with the measures behind its status.</caption>',
    '<thead><tr><th scope="col">Field</th><th scope="col">Kind</th><th scope="col">Status</th><th scope="col">PSI</th><th scope="col">KS D</th><th scope="col">Null rate, reference → now</th><th scope="col">Values / needed</th><th scope="col">Reason</th></tr></thead>',
    `<tbody>${rows.join('\n')}</tbody>`,
    '</table></div>',
    '</section>',
  ].join('\n');
}

function legend(t: ReturnType<typeof DriftThresholdsSchema.parse>): string {
  const overridden = [
    ...Object.keys(t.fields),
    ...(Object.keys(t.prediction).length > 0 ? ['model score'] : []),
  ];
  const ks = t.ks
    ? `judged: stable below ${t.ks.watch}, watch from ${t.ks.watch}, significant above ${t.ks.significant}`
    : 'reported, not judged';
  return [
    '<section class="legend" aria-labelledby="legend-h">',
    '<h2 id="legend-h">How to read this report</h2>',
    '<ul class="keys">',
    '<li><span class="swatch swatch-reference" aria-hidden="true"></span> Reference: the training data the model version was built on (its profile).</li>',
    '<li><span class="swatch swatch-current" aria-hidden="true"></span> Current: the values captured in this window.</li>',
    '<li><span class="swatch swatch-marker" aria-hidden="true"></span> The reference share, marked on each current bar.</li>',
    '<li><span class="swatch swatch-contribution" aria-hidden="true"></span> Each bin’s term of the PSI (bins that moved most stand out).</li>',
    '</ul>',
    '<dl class="terms">',
    `<div><dt>PSI</dt><dd>Population stability index, no unit: the sum over bins of (current share − reference share) × ln(current share ÷ reference share). Stable below ${t.psi.watch}, watch from ${t.psi.watch}, significant above ${t.psi.significant}.</dd></div>`,
    `<div><dt>KS D</dt><dd>Kolmogorov–Smirnov statistic of numeric fields, 0 to 1: the largest gap between the reference and current cumulative distributions; ${ks}.</dd></div>`,
    `<div><dt>Null rate</dt><dd>Share of rows without a value; its change is in percentage points (pp). A change from ${points(t.nullRate.watch).replace('+', '')} is watched, above ${points(t.nullRate.significant).replace('+', '')} significant.</dd></div>`,
    '<div><dt>Bins</dt><dd>Numeric fields use the reference’s quantile bins, each holding about the same share of training values, so bars are equal width whatever their value range; the labels under them are the bin edges (a bin runs from above its left edge up to and including its right edge). Categorical fields show each category the profile keeps and “(all others)”.</dd></div>',
    `<div><dt>Insufficient data</dt><dd>Too few rows (under ${count(t.minRows)}) or values (under ${count(t.minRowsPerBin)} per bin) to tell: neither drift nor no drift. The measures are shown, not judged.</dd></div>`,
    '</dl>',
    overridden.length > 0
      ? `<p class="muted">Own thresholds apply to: ${overridden.map((name) => `<bdi>${esc(name)}</bdi>`).join(', ')}; each field’s reason names the threshold it crossed.</p>`
      : '',
    '</section>',
  ].join('\n');
}

function panel(entry: Entry, index: number): string {
  const d = entry.drift;
  const id = `field-${index}`;
  const kind = entry.prediction ? 'prediction' : d.kind;
  const reason =
    d.status === 'insufficient-data'
      ? `<p class="reason insufficient"><strong>Cannot tell</strong> (neither drift nor no drift): ${esc(d.reason)}.</p>`
      : `<p class="reason"><span class="muted">Why:</span> ${esc(d.reason)}</p>`;
  const body = d.kind === 'numeric' ? numericBody(entry.name, d, id) : categoricalBody(entry.name, d, id);
  return [
    `<article class="field status-${d.status}" id="${id}" aria-labelledby="${id}-h">`,
    `<h3 id="${id}-h"><bdi>${esc(entry.name)}</bdi> <span class="kind">${kind}</span> ${badge(d.status)}</h3>`,
    reason,
    body,
    '</article>',
  ].join('\n');
}

/** The histograms of one field: reference and current side by side, then the PSI terms. */
function charts(
  name: string,
  id: string,
  bins: ReadonlyArray<{
    title: string;
    label?: string;
    reference: number;
    live: number;
    contribution: number;
  }>,
  boundaries: readonly string[] | undefined,
  xLabel: string,
): string {
  const top = Math.max(...bins.flatMap((b) => [b.reference, b.live]));
  const share = (value: number) => `${Math.round(value * 1000) / 10}%`;
  const common = { boundaries, yMax: top, yTick: share, yLabel: 'share of values (%)', xLabel };
  const contributionTop = Math.max(0.02, ...bins.map((b) => b.contribution));
  const decimals = contributionTop < 0.1 ? 3 : 2;
  return [
    '<div class="charts">',
    '<figure>',
    barChartSvg({
      ...common,
      id: `${id}-reference`,
      role: 'reference',
      title: `Reference distribution of ${name}`,
      description: `${bins.length} bars, one per bin: the share of the training values in each.`,
      bars: bins.map((b) => ({
        value: b.reference,
        title: `${b.title}: ${percent(b.reference)} of reference values`,
        label: b.label,
      })),
    }),
    '<figcaption><span class="swatch swatch-reference" aria-hidden="true"></span> Reference (training)</figcaption>',
    '</figure>',
    '<figure>',
    barChartSvg({
      ...common,
      id: `${id}-current`,
      role: 'current',
      title: `Current distribution of ${name}`,
      description: `${bins.length} bars, one per reference bin: the share of this window's values in each, with the reference share marked.`,
      bars: bins.map((b) => ({
        value: b.live,
        marker: b.reference,
        title: `${b.title}: ${percent(b.live)} of this window's values (reference ${percent(b.reference)}, ${points(b.live - b.reference)})`,
        label: b.label,
      })),
    }),
    '<figcaption><span class="swatch swatch-current" aria-hidden="true"></span> Current window <span class="muted">(tick: reference share)</span></figcaption>',
    '</figure>',
    '<figure>',
    barChartSvg({
      boundaries,
      xLabel,
      id: `${id}-contribution`,
      role: 'contribution',
      title: `PSI contribution per bin of ${name}`,
      description: `${bins.length} bars: each bin's term of the PSI; they sum to the field's PSI.`,
      yMax: contributionTop,
      yTick: (v) => v.toFixed(decimals),
      yLabel: 'PSI term',
      bars: bins.map((b) => ({
        value: b.contribution,
        title: `${b.title}: PSI term ${b.contribution.toFixed(4)}`,
        label: b.label,
      })),
    }),
    '<figcaption><span class="swatch swatch-contribution" aria-hidden="true"></span> PSI term per bin</figcaption>',
    '</figure>',
    '</div>',
  ].join('\n');
}

function statsRow(label: string, c: Compared, format = measureFormat(c)): string {
  return `<tr><th scope="row">${label}</th><td class="num">${format.value(c.reference)}</td><td class="num">${format.value(c.live)}</td><td class="num">${format.change(c.change)}</td></tr>`;
}

const SHARE_FORMAT = { value: percent, change: points };

function statsTable(caption: string, rows: string[]): string {
  return [
    '<table class="stats">',
    `<caption>${caption}</caption>`,
    '<thead><tr><th scope="col">Measure</th><th scope="col">Reference</th><th scope="col">Current</th><th scope="col">Change</th></tr></thead>',
    `<tbody>${rows.join('')}</tbody>`,
    '</table>',
  ].join('\n');
}

/** The measures of the window against the reference, on one line under the table. */
function measures(d: FieldDrift): string {
  const ks = d.kind === 'numeric' ? ` · KS D <strong>${fixed3(d.ks)}</strong>` : '';
  return `<p class="measures">PSI <strong>${fixed3(d.psi)}</strong>${ks} · ${count(d.values)} of ${count(d.rows)} rows have a value <span class="muted">(${count(d.valuesNeeded)} needed to judge)</span></p>`;
}

function numericBody(name: string, d: NumericFieldDrift, id: string): string {
  const stats = [
    statsTable('Statistics, in the field’s own units (null rate in % of rows)', [
      statsRow('Mean', d.mean),
      statsRow('Standard deviation', d.std),
      statsRow('Null rate', d.nullRate, SHARE_FORMAT),
    ]),
    measures(d),
  ].join('\n');
  if (!d.bins) {
    return `<p class="empty">No histogram: ${d.values === 0 ? 'no values in this window' : 'no reference values'}.</p>\n${stats}`;
  }
  const { edges, reference, live, contributions } = d.bins;
  const labels = edgeLabels(edges);
  const range = (i: number) => {
    if (edges.length === 0) return 'all values';
    if (i === 0) return `≤ ${labels[0]}`;
    if (i === edges.length) return `> ${labels[edges.length - 1]}`;
    return `${labels[i - 1]} < x ≤ ${labels[i]}`;
  };
  const bins = reference.map((r, i) => ({
    title: `Bin ${i + 1} (${range(i)})`,
    reference: r,
    live: live[i] ?? 0,
    contribution: contributions[i] ?? 0,
  }));
  const table = sharesTable(
    'Bin (value range)',
    bins.map((b, i) => ({ ...b, label: range(i) })),
  );
  return [charts(name, id, bins, labels, 'bin edges (reference quantiles)'), stats, table].join('\n');
}

function categoricalBody(name: string, d: CategoricalFieldDrift, id: string): string {
  const stats = [
    statsTable('Statistics (null rate in % of rows)', [statsRow('Null rate', d.nullRate, SHARE_FORMAT)]),
    measures(d),
  ].join('\n');
  if (d.categories.length === 0) {
    return `<p class="empty">No histogram: ${d.values === 0 ? 'no values in this window' : 'no reference values'}.</p>\n${stats}`;
  }
  const display = (category: string | null) => category ?? '(all others)';
  const bins = d.categories.map((c) => ({
    title: categoryTitle(c.category),
    label: display(c.category),
    reference: c.reference,
    live: c.live,
    contribution: c.contribution,
  }));
  const unlisted =
    d.otherCategories.length > 0
      ? `<p class="unlisted">Categories the profile does not keep by name, counted in “(all others)”: ${d.otherCategories
          .map((o) => `<bdi>${esc(o.category)}</bdi> <span class="muted">${percent(o.share)}</span>`)
          .join(', ')}.</p>`
      : '';
  const shifts = `<p class="shifts">Largest shifts: ${d.largestShifts
    .map((c) => `<bdi>${esc(display(c.category))}</bdi> <span class="muted">${points(c.change)}</span>`)
    .join(', ')}.</p>`;
  return [
    charts(name, id, bins, undefined, 'category'),
    shifts,
    unlisted,
    stats,
    sharesTable(
      'Category',
      d.categories.map((c) => ({ ...c, label: display(c.category) })),
    ),
  ].join('\n');
}

function categoryTitle(c: string | null): string {
  return c === null ? 'All other categories' : `Category “${c}”`;
}

/** The numbers behind a chart, folded away: per bin the shares, their change and the PSI term. */
function sharesTable(
  heading: string,
  rows: ReadonlyArray<{ label: string; reference: number; live: number; contribution: number }>,
): string {
  const body = rows
    .map(
      (r) =>
        `<tr><th scope="row"><bdi>${esc(r.label)}</bdi></th><td class="num">${percent(r.reference)}</td><td class="num">${percent(r.live)}</td><td class="num">${points(r.live - r.reference)}</td><td class="num">${r.contribution.toFixed(4)}</td></tr>`,
    )
    .join('');
  return [
    '<details>',
    `<summary>Shares per ${heading === 'Category' ? 'category' : 'bin'} in numbers</summary>`,
    '<div class="scroll"><table class="bins">',
    `<thead><tr><th scope="col">${heading}</th><th scope="col">Reference</th><th scope="col">Current</th><th scope="col">Change</th><th scope="col">PSI term</th></tr></thead>`,
    `<tbody>${body}</tbody>`,
    '</table></div>',
    '</details>',
  ].join('\n');
}

const STYLE = `
:root{--ref:#4c78a8;--cur:#f58518;--contrib:#7b5ea7;--ink:#1f2933;--muted:#5f6b7a;--line:#d5dbe3;
--significant:#b91c1c;--significant-bg:#fdecec;--watch:#b45309;--watch-bg:#fff4e0;--stable:#15803d;--stable-bg:#e9f7ee;
--insufficient-data:#4b5563;--insufficient-data-bg:#eef0f3}
*{box-sizing:border-box}
body{margin:0;font:15px/1.5 system-ui,-apple-system,"Segoe UI",Roboto,"Helvetica Neue",Arial,sans-serif;color:var(--ink);background:#f7f8fa}
main,header,footer{max-width:1280px;margin:0 auto;padding:0 24px}
h1{font-size:1.7rem;margin:.2rem 0 .6rem;overflow-wrap:anywhere}h2{font-size:1.25rem;margin:2rem 0 .8rem}
h3{font-size:1.1rem;margin:0 0 .4rem;display:flex;flex-wrap:wrap;gap:.5rem;align-items:center;overflow-wrap:anywhere}
.muted{color:var(--muted)}.version{font-weight:400;color:var(--muted);font-size:1.1rem}
.eyebrow{margin:0;padding-top:20px;text-transform:uppercase;letter-spacing:.08em;font-size:.8rem;color:var(--muted)}
.banner{border-left:8px solid var(--c);background:var(--bg);padding-bottom:12px;margin-top:16px;border-radius:4px}
.status-significant{--c:var(--significant);--bg:var(--significant-bg)}.status-watch{--c:var(--watch);--bg:var(--watch-bg)}
.status-stable{--c:var(--stable);--bg:var(--stable-bg)}.status-insufficient-data{--c:var(--insufficient-data);--bg:var(--insufficient-data-bg)}
.badge{display:inline-block;padding:.1rem .55rem;border-radius:999px;background:var(--c);color:#fff;font-weight:600;font-size:.85rem;white-space:nowrap}
.verdict{display:flex;flex-wrap:wrap;gap:.75rem;align-items:center}.verdict .badge{font-size:1rem;padding:.25rem .8rem}
.headline{margin:0;font-size:1.1rem;font-weight:600}.reason{margin:.5rem 0;overflow-wrap:anywhere}
.reason.insufficient{background:var(--insufficient-data-bg);padding:.4rem .6rem;border-radius:4px}
.facts{display:flex;flex-wrap:wrap;gap:.4rem 2rem;margin:.6rem 0 0}.facts div{min-width:12rem}.facts dt{font-size:.8rem;color:var(--muted)}.facts dd{margin:0}
table{border-collapse:collapse;background:#fff}caption{text-align:left;color:var(--muted);padding:.3rem 0;font-size:.9rem}
th,td{border-bottom:1px solid var(--line);padding:.35rem .6rem;text-align:left;vertical-align:top}thead th{background:#eef1f5;font-size:.85rem}
td.num{text-align:right;font-variant-numeric:tabular-nums;white-space:nowrap}td.short{color:var(--insufficient-data);font-weight:600}
td.why{max-width:28rem;overflow-wrap:anywhere}.summary th[scope=row]{max-width:16rem;overflow-wrap:anywhere}
.summary tr{border-left:4px solid var(--c)}.scroll{overflow-x:auto}
.legend{background:#fff;border:1px solid var(--line);border-radius:4px;padding:0 1rem 1rem}
.keys{list-style:none;padding:0;display:flex;flex-wrap:wrap;gap:.4rem 1.5rem}.terms div{margin:.3rem 0}.terms dt{font-weight:600;display:inline}.terms dt:after{content:": "}.terms dd{display:inline;margin:0}
.swatch{display:inline-block;width:.9rem;height:.9rem;vertical-align:-.1rem;border-radius:2px}
.swatch-reference{background:var(--ref)}.swatch-current{background:var(--cur)}.swatch-contribution{background:var(--contrib)}
.swatch-marker{height:3px;background:var(--ink);vertical-align:.2rem}
.field{background:#fff;border:1px solid var(--line);border-left:6px solid var(--c);border-radius:4px;padding:1rem 1.2rem;margin:0 0 1.2rem}
.charts{display:flex;flex-wrap:wrap;gap:1rem;align-items:flex-start}figure{margin:0;max-width:100%;overflow-x:auto}
figcaption{font-size:.9rem;text-align:center}
svg.chart{display:block;max-width:none;font-size:11px}svg .grid{stroke:#e6e9ee}svg .axis,svg .tick-mark{stroke:#8792a2}
svg .tick,svg .label{fill:#3e4a59}svg .axis-title{fill:var(--muted);font-size:11px}
svg .bar-reference{fill:var(--ref)}svg .bar-current{fill:var(--cur)}svg .bar-contribution{fill:var(--contrib)}
svg .marker{stroke:var(--ink);stroke-width:2}
.stats{margin-top:.8rem}.measures{margin:.4rem 0}.empty{color:var(--insufficient-data);font-style:italic}.unlisted{overflow-wrap:anywhere}
details{margin-top:.6rem}summary{cursor:pointer;color:#244d7a}
footer{color:var(--muted);font-size:.85rem;padding:1rem 24px 2rem}
@media print{body{background:#fff}.field{break-inside:avoid}details{display:none}}
`
  .trim()
  .replace(/\n/g, '');
