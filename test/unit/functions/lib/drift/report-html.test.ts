import { existsSync } from 'node:fs';
import { mkdtemp, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium } from 'playwright-core';
import { describe, expect, it } from 'vitest';
import { nextAlertState } from '../../../../../functions/lib/drift/alert-policy.ts';
import {
  compareToProfile,
  type DriftReport,
  type NumericFieldDrift,
} from '../../../../../functions/lib/drift/drift-report.ts';
import {
  buildProfile,
  type Profile,
  profilePredictions,
} from '../../../../../functions/lib/drift/profile.ts';
import {
  DRIFT_REPORT_CSP,
  type DriftReportPage,
  renderDriftReportHtml,
} from '../../../../../functions/lib/drift/report-html.ts';
import { seededNormal, seededRandom } from '../training/seeded-random.ts';

/** A category name that would run if it were not escaped. */
const HOSTILE = '<script>window.__pwned = 1</script>';
/** A field name that would be an element, and breaks out of attributes. */
const HOSTILE_FIELD = '<img src=x onerror="window.__pwned=2">&\'';
const ORIGINS = ['SFO', 'LAX', 'ORD', 'ATL', 'DEN', HOSTILE, 'JFK'];

interface Shift {
  readonly distance?: number;
  readonly unseenOrigin?: number;
}

function traffic(n: number, seed: number, shift: Shift = {}) {
  const uniform = seededRandom(seed);
  const normal = seededNormal(uniform);
  const rows = Array.from({ length: n }, () => ({
    distance: 1100 + 600 * (normal() + (shift.distance ?? 0)),
    delay: uniform() < 0.02 ? null : 10 + 30 * normal(),
    origin:
      uniform() < (shift.unseenOrigin ?? 0) ? 'XXX' : ORIGINS[Math.floor(uniform() ** 1.5 * ORIGINS.length)],
    [HOSTILE_FIELD]: uniform() * 10,
    sparse: uniform() < 0.97 ? null : uniform(),
  }));
  const scores = rows.map((r) => 1 / (1 + Math.exp(-(r.distance - 1100) / 600)));
  return { rows, scores };
}

const FIELDS = {
  distance: 'numeric',
  delay: 'numeric',
  origin: 'categorical',
  [HOSTILE_FIELD]: 'numeric',
  sparse: 'numeric',
} as const;

function referenceProfile(): Profile {
  const { rows, scores } = traffic(20_000, 1);
  return { ...buildProfile({ fields: FIELDS, rows }), prediction: profilePredictions(scores) };
}

const profile = referenceProfile();
const drifted = compareToProfile(profile, traffic(3_000, 2, { distance: 0.6, unseenOrigin: 0.1 }));

function page(report: DriftReport, extra: Partial<DriftReportPage> = {}): DriftReportPage {
  return {
    report,
    model: 'flights-delay',
    version: 3,
    window: { start: '2026-11-27T06:00:00.000Z', end: '2026-11-27T07:00:00.000Z' },
    generatedAt: '2026-11-27T07:05:12.000Z',
    ...extra,
  };
}

/** `text` as the page escapes it. */
const escaped = (text: string) => text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

/** Every tag of the page: text never holds a raw `<`, so each `<` opens one. */
const tags = (html: string) => html.match(/<[^>]*>/g) ?? [];

/** The names in the summary table, in order, as a browser would read them. */
function summaryOrder(html: string): string[] {
  const body = html.slice(html.indexOf('<tbody>'), html.indexOf('</tbody>'));
  return [...body.matchAll(/<th scope="row"><a href="#field-\d+"><bdi>(.*?)<\/bdi>/g)].map((m) => m[1] ?? '');
}

describe('renderDriftReportHtml', () => {
  it('lists every field and the model score, worst first, each with a panel', () => {
    expect(drifted.fields.distance!.status).toBe('significant');
    expect(drifted.fields.sparse!.status).toBe('insufficient-data');
    const html = renderDriftReportHtml(page(drifted));
    const order = summaryOrder(html);
    expect(order).toHaveLength(Object.keys(FIELDS).length + 1);
    expect(order).toContain('model score');
    const rank = { significant: 0, watch: 1, 'insufficient-data': 2, stable: 3 } as const;
    const statusOf = (shown: string) =>
      shown === 'model score'
        ? drifted.prediction!.status
        : Object.entries(drifted.fields).find(([name]) => escaped(name) === shown)![1].status;
    const ranks = order.map((name) => rank[statusOf(name)]);
    expect(ranks).toEqual([...ranks].sort((a, b) => a - b));
    for (let i = 0; i < order.length; i++) expect(html).toContain(`<article class="field status-`);
    expect(html.match(/<article /g)).toHaveLength(order.length);
    expect(html).toContain(
      '<h1><bdi>flights-delay</bdi> <span class="version">version <bdi>3</bdi></span></h1>',
    );
    expect(html).toContain('2026-11-27 06:00 UTC → 2026-11-27 07:00 UTC');
    expect(html).toContain('(1 h)');
    expect(html).toContain('3,000 captured');
  });

  it('escapes field and category names wherever they appear', () => {
    const html = renderDriftReportHtml(page(drifted));
    expect(html).not.toContain('<script');
    expect(html).not.toContain('<img');
    for (const tag of tags(html)) expect(tag).not.toMatch(/onerror/i);
    expect(html).toContain('&#60;script&#62;window.__pwned = 1&#60;/script&#62;');
    expect(html).toContain('&#60;img src=x onerror=&#34;window.__pwned=2&#34;&#62;&#38;&#39;');
    // the title attribute-free SVG tooltips carry the full (escaped) category name
    expect(html).toContain('<title>Category “&#60;script&#62;window.__pwned = 1&#60;/script&#62;”: ');
  });

  it('loads nothing and runs nothing: no script, no handler, no URL, a strict CSP', () => {
    const html = renderDriftReportHtml(page(drifted));
    expect(html).toContain(`<meta http-equiv="Content-Security-Policy" content="${DRIFT_REPORT_CSP}">`);
    expect(DRIFT_REPORT_CSP).toBe("default-src 'none'; style-src 'unsafe-inline'; img-src data:");
    expect(html).not.toMatch(/<script|<iframe|<object|<embed|<link|<img|<base/i);
    for (const tag of tags(html)) expect(tag).not.toMatch(/\son[a-z]+\s*=/i);
    expect(html).not.toMatch(/https?:|\/\/[a-z0-9]|url\(|@import|javascript:/i);
    for (const [, target] of html.matchAll(/href="([^"]*)"/g)) expect(target).toMatch(/^#field-\d+$/);
    for (const tag of tags(html)) expect(tag).not.toMatch(/\ssrc=/i);
  });

  it('shows a field with too few values as insufficient data, neither drift nor no drift', () => {
    const html = renderDriftReportHtml(page(drifted));
    const panel = html.slice(html.indexOf('<bdi>sparse</bdi> <span class="kind">'));
    expect(panel).toMatch(
      /^<bdi>sparse<\/bdi> <span class="kind">numeric<\/span> <span class="badge status-insufficient-data">/,
    );
    expect(panel).toContain('<strong>Cannot tell</strong> (neither drift nor no drift): ');
    expect(panel.slice(0, panel.indexOf('</article>'))).toContain(escaped(drifted.fields.sparse!.reason));
  });

  it('calls a window under the minimum size insufficient data in its header, not drift or no drift', () => {
    const small = compareToProfile(profile, traffic(300, 3, { distance: 2 }));
    const html = renderDriftReportHtml(page(small));
    const header = html.slice(html.indexOf('<header'), html.indexOf('</header>'));
    expect(header).toContain('class="banner status-insufficient-data"');
    expect(header).toContain('Insufficient data: this window cannot be judged, neither drift nor no drift');
    expect(header).toContain('300 rows &#60; 500 needed');
    expect(header).not.toMatch(/Significant drift|Stable/);
    expect(html.match(/<strong>Cannot tell<\/strong>/g)).toHaveLength(Object.keys(FIELDS).length + 1);
  });

  it('draws a numeric field with a bar per reference bin, labelled with the bin edges', () => {
    const html = renderDriftReportHtml(page(drifted));
    const distance = drifted.fields.distance as NumericFieldDrift;
    const start = html.indexOf('<bdi>distance</bdi> <span class="kind">');
    const panel = html.slice(start, html.indexOf('</article>', start));
    for (const role of ['reference', 'current', 'contribution']) {
      const svg = panel.slice(panel.indexOf(`data-chart="${role}"`));
      const bars = svg.slice(0, svg.indexOf('</svg>')).match(/<rect class="bar /g);
      expect(bars).toHaveLength(distance.bins!.reference.length);
    }
    // edges appear as axis labels, the first bin as "≤ first edge"
    expect(panel).toContain(`Bin 1 (≤ ${Math.round(distance.bins!.edges[0]!).toLocaleString('en-US')}`);
    expect(panel).toContain('<th scope="row">Mean</th>');
    expect(panel).toContain(`KS D <strong>${distance.ks!.toFixed(3)}</strong>`);
  });

  it('draws a categorical field with a bar per kept category and one for all others', () => {
    const html = renderDriftReportHtml(page(drifted));
    const start = html.indexOf('<bdi>origin</bdi> <span class="kind">');
    const panel = html.slice(start, html.indexOf('</article>', start));
    const svg = panel.slice(panel.indexOf('data-chart="current"'));
    const categories = drifted.fields.origin!.kind === 'categorical' ? drifted.fields.origin!.categories : [];
    expect(svg.slice(0, svg.indexOf('</svg>')).match(/<rect class="bar /g)).toHaveLength(categories.length);
    expect(panel).toContain('(all others)');
    expect(panel).toContain('counted in “(all others)”: <bdi>XXX</bdi>');
  });

  it('says when a field has no values to draw', () => {
    const { rows } = traffic(1_000, 4);
    const report = compareToProfile(profile, { rows: rows.map(({ delay: _delay, ...rest }) => rest) });
    const html = renderDriftReportHtml(page(report));
    const start = html.indexOf('<bdi>delay</bdi> <span class="kind">');
    expect(html.slice(start, html.indexOf('</article>', start))).toContain(
      'No histogram: no values in this window.',
    );
  });

  it('shows the alert decision when one is given', () => {
    const alert = nextAlertState(
      { state: 'pending', consecutive: 1 },
      { status: drifted.status, reason: drifted.reason, window: '2026-11-27T07:00:00.000Z' },
    );
    const html = renderDriftReportHtml(page(drifted, { alert }));
    expect(html).toContain(
      '<dt>Alert</dt><dd><span class="badge status-significant">ALARM</span> raised by this window',
    );
    expect(html).toContain('(2 significant in a row)');
    // with K known, the page says how many raise the alarm
    const withK = renderDriftReportHtml(page(drifted, { alert: { ...alert, consecutiveWindows: 3 } }));
    expect(withK).toContain('(2 significant in a row; 3 raise the alarm)');
    expect(renderDriftReportHtml(page(drifted))).not.toContain('<dt>Alert</dt>');
  });

  it('gives the same bytes for the same input', () => {
    expect(renderDriftReportHtml(page(drifted))).toBe(renderDriftReportHtml(page(drifted)));
  });

  it('fails naming the bad input', () => {
    expect(() => renderDriftReportHtml(page(drifted, { model: '' }))).toThrow(
      /model must be a non-empty string/,
    );
    expect(() =>
      renderDriftReportHtml(page(drifted, { window: { start: 'yesterday', end: '2026-11-27T07:00:00Z' } })),
    ).toThrow(/window.start must be an ISO-8601 instant, got "yesterday"/);
    expect(() =>
      renderDriftReportHtml(
        page(drifted, { window: { start: '2026-11-27T07:00:00Z', end: '2026-11-27T06:00:00Z' } }),
      ),
    ).toThrow(/ends .* before it starts/);
    expect(() => renderDriftReportHtml(page({ status: 'drifty' } as unknown as DriftReport))).toThrow(
      /report must be a DriftReport/,
    );
  });
});

// ---- what a person sees: the page rendered by headless Chromium ------------------------------

const CHROMIUM = process.env.MLOPS_CHROMIUM ?? '/usr/bin/chromium';
const haveChromium = existsSync(CHROMIUM);
const requireChromium = process.env.MLOPS_REQUIRE_CHROMIUM === '1';
const skipReason = `skipped: no Chromium at ${CHROMIUM} (set MLOPS_CHROMIUM to its path; MLOPS_REQUIRE_CHROMIUM=1 makes this a failure)`;
if (!haveChromium && !requireChromium) console.warn(`drift report browser test ${skipReason}`);

/** Red-ish: red clearly dominates green and blue. */
function isRedish(color: string): boolean {
  const [r = 0, g = 0, b = 0] = (color.match(/\d+(\.\d+)?/g) ?? []).map(Number);
  return r > 150 && r > 2 * g && r > 2 * b;
}

describe('the drift report in headless Chromium', () => {
  it.runIf(!haveChromium && requireChromium)(
    'fails when MLOPS_REQUIRE_CHROMIUM=1 and no Chromium is found',
    () => {
      throw new Error(
        `MLOPS_REQUIRE_CHROMIUM=1 but there is no Chromium at ${CHROMIUM}; install it or set MLOPS_CHROMIUM`,
      );
    },
  );

  it.skipIf(!haveChromium)(
    haveChromium
      ? 'renders histograms a person can read, without errors or requests'
      : `renders … (${skipReason})`,
    async () => {
      const html = renderDriftReportHtml(page(drifted));
      const browser = await chromium.launch({
        executablePath: CHROMIUM,
        args: [
          '--headless',
          '--no-sandbox',
          '--disable-gpu',
          '--disable-quic',
          '--no-first-run',
          '--disable-background-networking',
          '--disable-component-update',
          '--disable-sync',
        ],
      });
      try {
        const tab = await browser.newPage({ viewport: { width: 1280, height: 900 } });
        const problems: string[] = [];
        tab.on('console', (m) => {
          if (m.type() === 'error' || m.type() === 'warning')
            problems.push(`console ${m.type()}: ${m.text()}`);
        });
        tab.on('pageerror', (e) => problems.push(`page error: ${e.message}`));
        tab.on('request', (r) => problems.push(`request: ${r.url()}`));
        tab.on('requestfailed', (r) => problems.push(`failed request: ${r.url()}`));
        await tab.setContent(html, { waitUntil: 'load' });

        expect(await tab.title()).toBe(
          'Drift report: flights-delay version 3, window ending 2026-11-27 07:00 UTC',
        );
        // Nothing from the data ran.
        expect(await tab.evaluate(() => (globalThis as { __pwned?: number }).__pwned)).toBeUndefined();

        // The verdict: visible, and red for significant drift.
        const verdict = tab.locator('header .verdict .badge');
        await expect.poll(() => verdict.isVisible()).toBe(true);
        expect(await verdict.textContent()).toContain('Significant drift');
        expect(
          isRedish(await verdict.evaluate((el) => (globalThis as any).getComputedStyle(el).backgroundColor)),
        ).toBe(true);

        // The significant field's panel: its badge red, its histograms drawn with a bar per bin.
        const distance = drifted.fields.distance as NumericFieldDrift;
        const panel = tab.locator('article.field', { has: tab.locator('h3 bdi', { hasText: /^distance$/ }) });
        const badge = panel.locator('h3 .badge');
        expect(await badge.textContent()).toContain('Significant drift');
        expect(
          isRedish(await badge.evaluate((el) => (globalThis as any).getComputedStyle(el).backgroundColor)),
        ).toBe(true);
        for (const role of ['reference', 'current', 'contribution']) {
          const svg = panel.locator(`svg[data-chart="${role}"]`);
          const box = await svg.boundingBox();
          expect(box!.width).toBeGreaterThan(250);
          expect(box!.height).toBeGreaterThan(150);
          expect(await svg.locator('rect.bar').count()).toBe(distance.bins!.reference.length);
        }
        // Bars are as tall as their shares: the tallest current bar is the bin with the largest share.
        const heights = await panel
          .locator('svg[data-chart="current"] rect.bar')
          .evaluateAll((bars) => bars.map((bar) => bar.getBoundingClientRect().height));
        const live = distance.bins!.live;
        expect(heights.indexOf(Math.max(...heights))).toBe(live.indexOf(Math.max(...live)));
        expect(Math.min(...heights)).toBeGreaterThan(0);
        // the reference bars (about 10% each) are all drawn, at about the same height
        const reference = await panel
          .locator('svg[data-chart="reference"] rect.bar')
          .evaluateAll((bars) => bars.map((bar) => bar.getBoundingClientRect().height));
        expect(Math.max(...reference) - Math.min(...reference)).toBeLessThan(0.2 * Math.max(...reference));

        // Insufficient data reads as such.
        const sparse = tab.locator('article.field', { has: tab.locator('h3 bdi', { hasText: /^sparse$/ }) });
        expect(await sparse.locator('h3 .badge').textContent()).toContain('Insufficient data');
        expect(await sparse.locator('.reason').textContent()).toContain('neither drift nor no drift');

        // The page fits a laptop screen's width: nothing to scroll sideways.
        expect(
          await tab.evaluate(() => (globalThis as any).document.documentElement.scrollWidth),
        ).toBeLessThanOrEqual(1280);

        const dir = await mkdtemp(join(tmpdir(), 'drift-report-'));
        const file = join(dir, 'drift-report.png');
        await tab.screenshot({ path: file, fullPage: true });
        expect((await stat(file)).size).toBeGreaterThan(50_000);
        console.info(`drift report screenshot: ${file}`);
        expect(problems).toEqual([]);
      } finally {
        await browser.close();
      }
    },
    60_000,
  );
});
