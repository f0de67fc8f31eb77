/**
 * Line plots of a training run: loss, accuracy / validation metric and learning rate per epoch, with axes, ticks,
 * labels and a legend, drawn as SVG and rasterised to PNG.
 */
import { rasterizeSvg } from './raster';
import { estimateTextWidth, svgCircle, svgDocument, svgLine, svgPolyline, svgRect, svgText } from './svg';
import { AxisTicks, linearTicks, logTicks } from './ticks';

/** One named line of a plot. */
export interface CurveSeries {
  /** Legend label. */
  name: string;
  /** `[P, 2]` points `x, y`; drawn in order of x; a non-finite y breaks the line. */
  points: readonly (readonly [number, number])[];
  /** Line colour (CSS); taken from the palette by position when omitted. */
  color?: string;
  /** Draw dashed (e.g. for a validation series beside its training twin). */
  dashed?: boolean;
  /** Draw as a staircase: each value holds until the next point's x (a learning rate set per epoch). */
  steps?: boolean;
}

/** Labels and geometry of one plot. */
export interface CurvesOptions {
  /** Title above the plot. */
  title: string;
  /** X-axis label, e.g. `epoch`. */
  xLabel: string;
  /** Y-axis label, e.g. `loss`. */
  yLabel?: string;
  /** Picture width in pixels (default 640). */
  width?: number;
  /** Picture height in pixels (default 400). */
  height?: number;
  /** Logarithmic y axis (non-positive values are left out). */
  logY?: boolean;
  /** Whole-number x ticks (epochs). */
  integerX?: boolean;
}

/** A rectangle of the picture, in pixels. */
export interface PanelBox {
  x: number;
  y: number;
  width: number;
  height: number;
}

/** Line colours, in order of the series (colour-blind-safe "tableau" palette). */
export const SERIES_COLORS = ['#1f77b4', '#ff7f0e', '#2ca02c', '#d62728', '#9467bd', '#8c564b', '#e377c2', '#7f7f7f', '#bcbd22', '#17becf'];

const TITLE_SIZE = 15;
const LABEL_SIZE = 13;
const TICK_SIZE = 11;
const LEGEND_SIZE = 12;
const GRID_COLOR = '#e3e3e3';
const AXIS_COLOR = '#333333';

/** Legend entries laid out in rows that fit `width`; returns the rows' SVG and height. */
function legendSvg(series: readonly CurveSeries[], colors: readonly string[], x: number, y: number, width: number): { svg: string; height: number } {
  const sample = 22;
  const gap = 18;
  const rowH = LEGEND_SIZE + 6;
  let svg = '';
  let cx = x;
  let row = 0;
  series.forEach((s, i) => {
    const w = sample + 5 + estimateTextWidth(s.name, LEGEND_SIZE);
    if (cx > x && cx + w > x + width) {
      cx = x;
      row++;
    }
    const cy = y + row * rowH + rowH / 2;
    svg += svgLine(cx, cy, cx + sample, cy, { stroke: colors[i], strokeWidth: 2.5, dash: s.dashed === true ? [5, 3] : undefined });
    svg += svgCircle(cx + sample / 2, cy, 3, { fill: colors[i] });
    svg += svgText(cx + sample + 5, cy, s.name, { fontSize: LEGEND_SIZE, baseline: 'middle', fill: AXIS_COLOR });
    cx += w + gap;
  });
  return { svg, height: series.length === 0 ? 0 : (row + 1) * rowH };
}

/**
 * SVG of one plot inside `box`: title, legend row(s) under it, framed plot area with grid lines, ticks, axis
 * labels, one polyline (plus point markers when there are at most 60 points) per series.
 * @param series `[S]` lines
 * @param box where the plot goes in the picture
 */
export function curvesPanelSvg(series: readonly CurveSeries[], opts: CurvesOptions, box: PanelBox): string {
  const logY = opts.logY === true;
  const colors = series.map((s, i) => s.color ?? SERIES_COLORS[i % SERIES_COLORS.length]);
  const usable = series.map((s) =>
    [...s.points]
      .filter(([x, y]) => Number.isFinite(x) && (!Number.isFinite(y) || !logY || y > 0))
      .sort((a, b) => a[0] - b[0]),
  );
  const xs = usable.flatMap((pts) => pts.map((p) => p[0]));
  const ys = usable.flatMap((pts) => pts.map((p) => p[1]).filter((y) => Number.isFinite(y)));

  let svg = svgText(box.x + box.width / 2, box.y + TITLE_SIZE + 6, opts.title, { fontSize: TITLE_SIZE, anchor: 'middle', bold: true });
  const legendTop = box.y + TITLE_SIZE + 14;
  const legend = legendSvg(series, colors, box.x + 16, legendTop, box.width - 32);
  svg += legend.svg;

  // a 2 % margin keeps the first and last markers off the frame
  const xMargin = (Math.max(...xs) - Math.min(...xs)) * 0.02;
  const xTicks = linearTicks(Math.min(...xs) - xMargin, Math.max(...xs) + xMargin, Math.max(3, Math.round((box.width - 100) / 80)), opts.integerX === true);
  let yTicks: AxisTicks;
  if (logY) {
    yTicks = logTicks(Math.min(...ys), Math.max(...ys));
  } else {
    // a 5 % margin keeps lines off the frame; the margin of positive data stops at 0
    const lo = Math.min(...ys);
    const hi = Math.max(...ys);
    const pad = (hi - lo) * 0.05;
    yTicks = linearTicks(lo > 0 ? Math.max(0, lo - pad) : lo - pad, hi + pad, Math.max(3, Math.round((box.height - 120) / 40)));
  }
  const withExponent = (label: string | undefined, exponent: number): string | undefined =>
    exponent === 0 ? label : `${label ?? ''} (×1e${exponent})`.trim();
  const yLabel = withExponent(opts.yLabel, yTicks.exponent);
  const xLabel = withExponent(opts.xLabel, xTicks.exponent) ?? '';
  const tickLabelW = Math.max(...yTicks.labels.map((l) => estimateTextWidth(l, TICK_SIZE)));
  const plot: PanelBox = {
    x: box.x + (yLabel !== undefined ? LABEL_SIZE + 12 : 8) + tickLabelW + 10,
    y: legendTop + legend.height + 8,
    width: 0,
    height: 0,
  };
  plot.width = box.x + box.width - 18 - plot.x;
  plot.height = box.y + box.height - (TICK_SIZE + 8) - (LABEL_SIZE + 12) - plot.y;
  if (plot.width < 20 || plot.height < 20) {
    throw new Error(`curves "${opts.title}": ${box.width}×${box.height} pixels leave no room for the plot; make the picture larger`);
  }

  const toPx = (x: number): number => plot.x + ((x - xTicks.min) / (xTicks.max - xTicks.min || 1)) * plot.width;
  const yUnit = (y: number): number =>
    logY
      ? (Math.log10(y) - Math.log10(yTicks.min)) / (Math.log10(yTicks.max) - Math.log10(yTicks.min) || 1)
      : (y - yTicks.min) / (yTicks.max - yTicks.min || 1);
  const toPy = (y: number): number => plot.y + plot.height * (1 - yUnit(y));

  svg += svgRect(plot.x, plot.y, plot.width, plot.height, { fill: 'white' });
  yTicks.values.forEach((v, i) => {
    const py = toPy(v);
    svg += svgLine(plot.x, py, plot.x + plot.width, py, { stroke: GRID_COLOR, strokeWidth: 1 });
    svg += svgLine(plot.x - 4, py, plot.x, py, { stroke: AXIS_COLOR, strokeWidth: 1 });
    svg += svgText(plot.x - 7, py, yTicks.labels[i], { fontSize: TICK_SIZE, anchor: 'end', baseline: 'middle', fill: AXIS_COLOR });
  });
  xTicks.values.forEach((v, i) => {
    const px = toPx(v);
    svg += svgLine(px, plot.y, px, plot.y + plot.height, { stroke: GRID_COLOR, strokeWidth: 1 });
    svg += svgLine(px, plot.y + plot.height, px, plot.y + plot.height + 4, { stroke: AXIS_COLOR, strokeWidth: 1 });
    svg += svgText(px, plot.y + plot.height + 6 + TICK_SIZE, xTicks.labels[i], { fontSize: TICK_SIZE, anchor: 'middle', fill: AXIS_COLOR });
  });
  svg += svgRect(plot.x, plot.y, plot.width, plot.height, { stroke: AXIS_COLOR, strokeWidth: 1 });
  svg += svgText(plot.x + plot.width / 2, box.y + box.height - 8, xLabel, { fontSize: LABEL_SIZE, anchor: 'middle', fill: AXIS_COLOR });
  if (yLabel !== undefined) {
    const lx = box.x + LABEL_SIZE + 2;
    svg += svgText(lx, plot.y + plot.height / 2, yLabel, { fontSize: LABEL_SIZE, anchor: 'middle', rotate: -90, fill: AXIS_COLOR });
  }

  if (ys.length === 0) {
    svg += svgText(plot.x + plot.width / 2, plot.y + plot.height / 2, 'no data', { fontSize: LABEL_SIZE, anchor: 'middle', fill: '#999999' });
  }
  usable.forEach((pts, i) => {
    const style = { stroke: colors[i], strokeWidth: 2, dash: series[i].dashed === true ? [6, 4] : undefined };
    let run: [number, number][] = [];
    const flush = (): void => {
      if (run.length > 1) svg += svgPolyline(run, style);
      run = [];
    };
    for (const [x, y] of pts) {
      if (!Number.isFinite(y)) {
        flush();
        continue;
      }
      if (series[i].steps === true && run.length > 0) run.push([toPx(x), run[run.length - 1][1]]);
      run.push([toPx(x), toPy(y)]);
    }
    flush();
    const finite = pts.filter(([, y]) => Number.isFinite(y));
    if (finite.length <= 60) {
      for (const [x, y] of finite) svg += svgCircle(toPx(x), toPy(y), 2.5, { fill: colors[i] });
    }
  });
  return svg;
}

/** What a training run records after each epoch. */
export interface EpochMetrics {
  /** Epoch number (as counted by the trainer, official: from 0). */
  epoch: number;
  /** Mean training loss of the epoch. */
  trainLoss: number;
  /** Mean training accuracy (official `accuracy`: PCK@0.5 on heatmaps) of the epoch. */
  trainAcc?: number;
  /** Validation loss, when validation ran. */
  valLoss?: number;
  /** Validation metric (COCO AP, PCKh), when validation ran. */
  valMetric?: number;
  /** Name of the validation metric, e.g. `AP` or `PCKh`. */
  valMetricName?: string;
  /** Learning rate of the epoch. */
  lr: number;
}

/** Geometry of {@link renderTrainingCurves}. */
export interface TrainingCurvesOptions {
  /** Width of each panel in pixels (default 520). */
  panelWidth?: number;
  /** Height of the picture in pixels (default 380). */
  panelHeight?: number;
  /** Text drawn above the panels, e.g. the experiment name. */
  title?: string;
}

function pointsOf(log: readonly EpochMetrics[], pick: (m: EpochMetrics) => number | undefined): [number, number][] {
  return log.flatMap((m): [number, number][] => {
    const v = pick(m);
    return v === undefined ? [] : [[m.epoch, v]];
  });
}

/**
 * The training-run picture: panels side by side — loss (train, and validation when logged), accuracy and
 * validation metric (when logged; the best validation value is named in the legend) and learning rate (on a
 * log axis when it spans a factor of 10 or more). A repeated epoch (a resumed run) keeps its last entry.
 * @param metricsLog `[E]` per-epoch records, in any order
 * @returns PNG bytes, `panels · panelWidth` wide
 */
export async function renderTrainingCurves(metricsLog: readonly EpochMetrics[], opts: TrainingCurvesOptions = {}): Promise<Buffer> {
  if (metricsLog.length === 0) throw new Error('renderTrainingCurves: the metrics log is empty; nothing to plot');
  const byEpoch = new Map<number, EpochMetrics>();
  metricsLog.forEach((m, i) => {
    if (!Number.isFinite(m.epoch)) throw new Error(`renderTrainingCurves: metricsLog[${i}].epoch must be a number, got ${m.epoch}`);
    byEpoch.set(m.epoch, m);
  });
  const log = [...byEpoch.values()].sort((a, b) => a.epoch - b.epoch);

  const panels: { series: CurveSeries[]; opts: CurvesOptions }[] = [];
  const lossSeries: CurveSeries[] = [{ name: 'train loss', points: pointsOf(log, (m) => m.trainLoss), color: SERIES_COLORS[0] }];
  const valLoss = pointsOf(log, (m) => m.valLoss);
  if (valLoss.length > 0) lossSeries.push({ name: 'val loss', points: valLoss, color: SERIES_COLORS[1], dashed: true });
  panels.push({ series: lossSeries, opts: { title: 'Loss', xLabel: 'epoch', yLabel: 'loss', integerX: true } });

  const metricName = log.find((m) => m.valMetricName !== undefined)?.valMetricName ?? 'metric';
  const metricSeries: CurveSeries[] = [];
  const trainAcc = pointsOf(log, (m) => m.trainAcc);
  if (trainAcc.length > 0) metricSeries.push({ name: 'train acc', points: trainAcc, color: SERIES_COLORS[2] });
  const valMetric = pointsOf(log, (m) => m.valMetric);
  if (valMetric.length > 0) {
    const best = valMetric.reduce((a, b) => (b[1] > a[1] ? b : a));
    metricSeries.push({
      name: `val ${metricName} (best ${best[1].toFixed(3)} @ ${best[0]})`,
      points: valMetric,
      color: SERIES_COLORS[3],
    });
  }
  if (metricSeries.length > 0) {
    const title = trainAcc.length > 0 && valMetric.length > 0 ? `Accuracy and ${metricName}` : trainAcc.length > 0 ? 'Accuracy' : `Validation ${metricName}`;
    const yLabel = trainAcc.length > 0 && valMetric.length > 0 ? `acc / ${metricName}` : trainAcc.length > 0 ? 'accuracy' : metricName;
    panels.push({ series: metricSeries, opts: { title, xLabel: 'epoch', yLabel, integerX: true } });
  }

  const lr = pointsOf(log, (m) => m.lr);
  const lrValues = lr.map((p) => p[1]).filter((v) => v > 0);
  const logLr = lrValues.length > 0 && Math.max(...lrValues) / Math.min(...lrValues) >= 10;
  panels.push({
    series: [{ name: 'learning rate', points: lr, color: SERIES_COLORS[4], steps: true }],
    opts: { title: 'Learning rate', xLabel: 'epoch', yLabel: 'lr', integerX: true, logY: logLr },
  });

  const panelW = opts.panelWidth ?? 520;
  const panelH = opts.panelHeight ?? 380;
  const top = opts.title === undefined ? 0 : TITLE_SIZE + 16;
  const width = panelW * panels.length;
  const height = panelH + top;
  let body = svgRect(0, 0, width, height, { fill: 'white' });
  if (opts.title !== undefined) body += svgText(width / 2, TITLE_SIZE + 8, opts.title, { fontSize: TITLE_SIZE + 1, anchor: 'middle', bold: true });
  panels.forEach((p, i) => {
    body += curvesPanelSvg(p.series, p.opts, { x: i * panelW, y: top, width: panelW, height: panelH });
  });
  return rasterizeSvg(svgDocument(width, height, body));
}
