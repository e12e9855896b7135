// Inline SVG bar charts for the drift report page: plain markup with its own <title> and
// description, no script, no external reference, every text escaped, so the page stays one file
// that renders the same wherever it is opened.

/** `text` safe inside HTML (and SVG) text and quoted attribute values. */
export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

/** One bar: its height in data units, what a tooltip says, and where the reference stood (drawn as a tick). */
export interface ChartBar {
  readonly value: number;
  /** Full text of the bar's tooltip (`<title>`). */
  readonly title: string;
  /** Axis label under the bar (categorical charts). */
  readonly label?: string;
  /** A reference level to mark on this bar, in data units. */
  readonly marker?: number;
}

export interface BarChartSpec {
  /** Unique in the page: prefixes the ids the accessible name points at. */
  readonly id: string;
  /** Accessible name, also the chart's heading for screen readers. */
  readonly title: string;
  /** Longer description for assistive technology. */
  readonly description: string;
  /** `data-chart` attribute: what the chart shows (tests and styles select on it). */
  readonly role: 'reference' | 'current' | 'contribution';
  readonly bars: readonly ChartBar[];
  /**
   * Labels of the boundaries between bars (numeric bins: their edges), `bars.length − 1` of them;
   * used instead of per-bar labels.
   */
  readonly boundaries?: readonly string[];
  /** Top of the y axis, in data units (share the same value between charts to compare them). */
  readonly yMax: number;
  /** Tick label for a y value. */
  readonly yTick: (value: number) => string;
  /** Y-axis title, with its unit. */
  readonly yLabel: string;
  /** X-axis title. */
  readonly xLabel: string;
}

const PLOT_HEIGHT = 150;
const MARGIN = { top: 12, right: 10, left: 52 };
/** Axis labels longer than this are cut (the full text is in the tooltip). */
const MAX_LABEL_CHARS = 14;
/** At most this many boundary labels are written; the others are left out evenly. */
const MAX_BOUNDARY_LABELS = 14;

/** A round number ≥ `value` (1, 2, 2.5 or 5 times a power of ten) and a tick step dividing it. */
export function niceScale(value: number): { max: number; step: number } {
  if (!(value > 0) || !Number.isFinite(value)) return { max: 1, step: 0.25 };
  const power = 10 ** Math.floor(Math.log10(value));
  for (const [mantissa, step] of [
    [1, 0.2],
    [2, 0.5],
    [2.5, 0.5],
    [5, 1],
    [10, 2],
  ] as const) {
    if (mantissa * power >= value * (1 - 1e-12)) return { max: mantissa * power, step: step * power };
  }
  return { max: 10 * power, step: 2 * power };
}

/** First `MAX_LABEL_CHARS` characters (whole code points) of `text`, with an ellipsis when cut. */
function shorten(text: string): string {
  const chars = Array.from(text);
  return chars.length <= MAX_LABEL_CHARS ? text : `${chars.slice(0, MAX_LABEL_CHARS - 1).join('')}…`;
}

const r1 = (x: number) => Math.round(x * 10) / 10;

/** One bar chart as an inline `<svg>` (role img, named by its `<title>`, described by its `<desc>`). */
export function barChartSvg(spec: BarChartSpec): string {
  const n = spec.bars.length;
  const slot = n <= 12 ? 30 : n <= 30 ? 22 : 18;
  const plotWidth = Math.max(200, n * slot);
  const width = MARGIN.left + plotWidth + MARGIN.right;
  // Room under the axis for the labels, slanted at 45°, and the axis title.
  const labels = spec.boundaries ?? spec.bars.map((bar) => bar.label ?? '');
  const longest = Math.max(1, ...labels.map((label) => Math.min(MAX_LABEL_CHARS, Array.from(label).length)));
  const bottom = 30 + Math.ceil(longest * 4.6);
  const height = MARGIN.top + PLOT_HEIGHT + bottom;
  const barSlot = plotWidth / Math.max(1, n);
  const barWidth = Math.max(2, barSlot * 0.72);
  const { max, step } = niceScale(spec.yMax);
  const y = (value: number) => MARGIN.top + PLOT_HEIGHT * (1 - Math.min(1, Math.max(0, value) / max));
  const baseline = MARGIN.top + PLOT_HEIGHT;
  const parts: string[] = [];
  const titleId = `${spec.id}-title`;
  const descId = `${spec.id}-desc`;
  parts.push(
    `<svg class="chart" data-chart="${spec.role}" role="img" aria-labelledby="${titleId} ${descId}" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}">`,
    `<title id="${titleId}">${escapeHtml(spec.title)}</title>`,
    `<desc id="${descId}">${escapeHtml(spec.description)}</desc>`,
  );
  // Grid lines and y ticks.
  for (let k = 0; k * step <= max * (1 + 1e-9); k++) {
    const value = k * step;
    const ty = r1(y(value));
    parts.push(
      `<line class="grid" x1="${MARGIN.left}" x2="${MARGIN.left + plotWidth}" y1="${ty}" y2="${ty}"/>`,
      `<text class="tick" x="${MARGIN.left - 6}" y="${ty}" text-anchor="end" dominant-baseline="middle">${escapeHtml(spec.yTick(value))}</text>`,
    );
  }
  parts.push(
    `<text class="axis-title" transform="translate(12 ${r1(MARGIN.top + PLOT_HEIGHT / 2)}) rotate(-90)" text-anchor="middle">${escapeHtml(spec.yLabel)}</text>`,
  );
  spec.bars.forEach((bar, i) => {
    const x = MARGIN.left + i * barSlot + (barSlot - barWidth) / 2;
    const top = y(bar.value);
    parts.push(
      `<rect class="bar bar-${spec.role}" x="${r1(x)}" y="${r1(top)}" width="${r1(barWidth)}" height="${r1(baseline - top)}"><title>${escapeHtml(bar.title)}</title></rect>`,
    );
    if (bar.marker !== undefined) {
      const my = r1(y(bar.marker));
      parts.push(
        `<line class="marker" x1="${r1(x - 2)}" x2="${r1(x + barWidth + 2)}" y1="${my}" y2="${my}"/>`,
      );
    }
    if (bar.label !== undefined && spec.boundaries === undefined) {
      const lx = r1(x + barWidth / 2);
      parts.push(
        `<text class="label" transform="translate(${lx} ${baseline + 8}) rotate(-45)" text-anchor="end" dominant-baseline="middle">${escapeHtml(shorten(bar.label))}</text>`,
      );
    }
  });
  if (spec.boundaries) {
    const every = Math.ceil(spec.boundaries.length / MAX_BOUNDARY_LABELS);
    spec.boundaries.forEach((label, i) => {
      if (i % every !== 0) return;
      const bx = r1(MARGIN.left + (i + 1) * barSlot);
      parts.push(
        `<line class="tick-mark" x1="${bx}" x2="${bx}" y1="${baseline}" y2="${baseline + 4}"/>`,
        `<text class="label" transform="translate(${bx} ${baseline + 8}) rotate(-45)" text-anchor="end" dominant-baseline="middle">${escapeHtml(shorten(label))}</text>`,
      );
    });
  }
  parts.push(
    `<line class="axis" x1="${MARGIN.left}" x2="${MARGIN.left + plotWidth}" y1="${baseline}" y2="${baseline}"/>`,
    `<text class="axis-title" x="${r1(MARGIN.left + plotWidth / 2)}" y="${height - 4}" text-anchor="middle">${escapeHtml(spec.xLabel)}</text>`,
    '</svg>',
  );
  return parts.join('');
}
