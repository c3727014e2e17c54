/**
 * The bytes-vs-SSIM plot of the compression benchmark, drawn as an SVG string and rasterised to PNG
 * by sharp (librsvg): every candidate of one frame's grid (colour per format, marker per scale,
 * qualities of one format and scale joined), the SSIM floor, and per network profile its byte budget
 * (dashed) with the engine's pick (star) and the exhaustive oracle's (ring).
 */
import sharp from 'sharp';
import { SCALE_LADDER } from '../functions/core/engine/candidates.ts';
import {
  type AnyCandidate,
  describeCandidate,
  reportedQuality,
} from '../functions/core/engine/screen-candidates.ts';
import type { MeasuredEncoding } from '../functions/core/engine/selection.ts';
import { formatBytes } from './format.ts';

/** A point of the plot: an encoding's size and SSIM. */
export interface PlotPoint {
  readonly bytes: number;
  readonly ssim: number;
}

/** A chosen encoding: its point and its parameters. */
export interface PlotPick extends PlotPoint {
  readonly candidate: AnyCandidate;
}

/** One network profile on the plot. */
export interface PlotProfile {
  readonly label: string;
  readonly colour: string;
  readonly budgetBytes: number;
  /** The engine's encoding; absent when the frame fell back to the original. */
  readonly engine?: PlotPick;
  /** The oracle's choice; absent when no candidate meets the floor. */
  readonly oracle?: PlotPick;
}

/** Everything the plot shows. */
export interface BytesVsSsimPlot {
  readonly title: string;
  readonly subtitle: string;
  /** The whole measured grid of one frame. */
  readonly encodings: readonly MeasuredEncoding[];
  readonly floor: number;
  readonly profiles: readonly PlotProfile[];
}

const WIDTH = 1200;
const HEIGHT = 760;
const LEFT = 90;
const TOP = 78;
const RIGHT = WIDTH - 330;
const BOTTOM = HEIGHT - 78;
const FONT = 'DejaVu Sans, sans-serif';
const FORMAT_COLOURS: Readonly<Record<string, string>> = { jpeg: '#1f77b4', webp: '#ff7f0e' };
const OTHER_FORMAT_COLOUR = '#7f7f7f';
const SHAPES = ['circle', 'square', 'triangle', 'diamond', 'down'] as const;
type Shape = (typeof SHAPES)[number];

const esc = (text: string) =>
  text.replaceAll('&', '&amp;').replaceAll('<', '&lt;').replaceAll('>', '&gt;');

const describe = (pick: PlotPick) =>
  `${describeCandidate(pick.candidate)}, ${formatBytes(pick.bytes)}, ${pick.ssim.toFixed(3)}`;

/** Where an encoding sits on its format's curve: lossy qualities in order, exact encodings last. */
const curveOrder = (e: MeasuredEncoding) => reportedQuality(e.candidate) ?? 101;

const formatColour = (format: string) => FORMAT_COLOURS[format] ?? OTHER_FORMAT_COLOUR;

function shapeOf(scale: number): Shape {
  return SHAPES[Math.max(0, SCALE_LADDER.indexOf(scale))] ?? 'circle';
}

function marker(
  shape: Shape,
  x: number,
  y: number,
  r: number,
  fill: string,
  stroke = fill,
): string {
  const style = `fill="${fill}" stroke="${stroke}" stroke-width="1"`;
  const poly = (points: [number, number][]) =>
    `<polygon points="${points.map(([px, py]) => `${px.toFixed(1)},${py.toFixed(1)}`).join(' ')}" ${style}/>`;
  switch (shape) {
    case 'circle':
      return `<circle cx="${x.toFixed(1)}" cy="${y.toFixed(1)}" r="${r}" ${style}/>`;
    case 'square':
      return `<rect x="${(x - r * 0.9).toFixed(1)}" y="${(y - r * 0.9).toFixed(1)}" width="${(1.8 * r).toFixed(1)}" height="${(1.8 * r).toFixed(1)}" ${style}/>`;
    case 'triangle':
      return poly([
        [x, y - r * 1.2],
        [x + r * 1.1, y + r * 0.8],
        [x - r * 1.1, y + r * 0.8],
      ]);
    case 'down':
      return poly([
        [x, y + r * 1.2],
        [x + r * 1.1, y - r * 0.8],
        [x - r * 1.1, y - r * 0.8],
      ]);
    case 'diamond':
      return poly([
        [x, y - r * 1.3],
        [x + r, y],
        [x, y + r * 1.3],
        [x - r, y],
      ]);
  }
}

function star(x: number, y: number, r: number, fill: string): string {
  const points: string[] = [];
  for (let i = 0; i < 10; i++) {
    const radius = i % 2 === 0 ? r : r * 0.45;
    const angle = -Math.PI / 2 + (i * Math.PI) / 5;
    points.push(
      `${(x + radius * Math.cos(angle)).toFixed(1)},${(y + radius * Math.sin(angle)).toFixed(1)}`,
    );
  }
  return `<polygon points="${points.join(' ')}" fill="${fill}" stroke="#000" stroke-width="1.2"/>`;
}

function text(x: number, y: number, content: string, attrs = '', size = 14): string {
  return `<text x="${x.toFixed(1)}" y="${y.toFixed(1)}" font-family="${FONT}" font-size="${size}" ${attrs}>${esc(content)}</text>`;
}

/** The plot's axes: byte counts on a log scale, SSIM from a round value below the lowest to 1. */
interface Scale {
  readonly logLo: number;
  readonly logHi: number;
  readonly yLo: number;
  readonly x: (bytes: number) => number;
  readonly y: (ssim: number) => number;
}

function scaleOf(plot: BytesVsSsimPlot): Scale {
  const bytes = [...plot.encodings.map((e) => e.bytes), ...plot.profiles.map((p) => p.budgetBytes)];
  const logLo = Math.log10(Math.min(...bytes) / 1.3);
  const logHi = Math.log10(Math.max(...bytes) * 1.3);
  const minSsim = Math.min(plot.floor, ...plot.encodings.map((e) => e.ssim));
  const yLo = Math.max(0, Math.floor(minSsim * 20) / 20);
  return {
    logLo,
    logHi,
    yLo,
    x: (b) => LEFT + ((Math.log10(b) - logLo) / (logHi - logLo)) * (RIGHT - LEFT),
    y: (s) => BOTTOM - ((s - yLo) / (1 - yLo)) * (BOTTOM - TOP),
  };
}

/** Grid and ticks (1-2-5 per decade on x, every 0.05 on y), the frame, the axis titles. */
function axes({ logLo, logHi, yLo, x, y }: Scale): string[] {
  const parts: string[] = [];
  for (let decade = Math.floor(logLo); decade <= Math.ceil(logHi); decade++) {
    for (const m of [1, 2, 5]) {
      const value = m * 10 ** decade;
      const lv = Math.log10(value);
      if (lv < logLo || lv > logHi) continue;
      const px = x(value);
      parts.push(
        `<line x1="${px.toFixed(1)}" y1="${TOP}" x2="${px.toFixed(1)}" y2="${BOTTOM}" stroke="${m === 1 ? '#ccc' : '#eee'}"/>`,
        text(px, BOTTOM + 20, formatBytes(value), 'text-anchor="middle"', 12),
      );
    }
  }
  for (let i = 0; yLo + i * 0.05 <= 1 + 1e-9; i++) {
    const value = yLo + i * 0.05;
    const py = y(value);
    parts.push(
      `<line x1="${LEFT}" y1="${py.toFixed(1)}" x2="${RIGHT}" y2="${py.toFixed(1)}" stroke="#eee"/>`,
      text(LEFT - 8, py + 4, value.toFixed(2), 'text-anchor="end"', 12),
    );
  }
  parts.push(
    `<rect x="${LEFT}" y="${TOP}" width="${RIGHT - LEFT}" height="${BOTTOM - TOP}" fill="none" stroke="#333"/>`,
    text((LEFT + RIGHT) / 2, HEIGHT - 30, 'Encoded size (log scale)', 'text-anchor="middle"'),
    text(
      24,
      (TOP + BOTTOM) / 2,
      'SSIM (luma, measured at the input resolution)',
      `text-anchor="middle" transform="rotate(-90 24 ${(TOP + BOTTOM) / 2})"`,
    ),
  );
  return parts;
}

/** The SSIM floor, one curve per format and scale (qualities in order), the points on top. */
function candidates(plot: BytesVsSsimPlot, { x, y }: Scale): string[] {
  const floorY = y(plot.floor);
  const parts = [
    `<line x1="${LEFT}" y1="${floorY.toFixed(1)}" x2="${RIGHT}" y2="${floorY.toFixed(1)}" stroke="#555" stroke-width="1.5" stroke-dasharray="8 5"/>`,
    text(LEFT + 6, floorY - 6, `SSIM floor ${plot.floor}`, 'fill="#555"', 12),
  ];
  const curves = new Map<string, MeasuredEncoding[]>();
  for (const e of plot.encodings) {
    const key = `${e.candidate.format}@${e.candidate.scale}`;
    curves.set(key, [...(curves.get(key) ?? []), e]);
  }
  for (const curve of curves.values()) {
    const sorted = [...curve].sort((a, b) => curveOrder(a) - curveOrder(b));
    const first = sorted[0];
    if (first === undefined) continue;
    const points = sorted.map((e) => `${x(e.bytes).toFixed(1)},${y(e.ssim).toFixed(1)}`);
    parts.push(
      `<polyline points="${points.join(' ')}" fill="none" stroke="${formatColour(first.candidate.format)}" stroke-opacity="0.35" stroke-width="1.2"/>`,
    );
  }
  for (const e of plot.encodings) {
    const colour = formatColour(e.candidate.format);
    parts.push(marker(shapeOf(e.candidate.scale), x(e.bytes), y(e.ssim), 3.5, colour));
  }
  return parts;
}

/** Per profile: its budget (dashed), the oracle's choice (ring) and the engine's (star). */
function picks(plot: BytesVsSsimPlot, { x, y }: Scale): string[] {
  return plot.profiles.flatMap((profile, i) => {
    const bx = x(profile.budgetBytes);
    const parts = [
      `<line x1="${bx.toFixed(1)}" y1="${TOP}" x2="${bx.toFixed(1)}" y2="${BOTTOM}" stroke="${profile.colour}" stroke-width="2" stroke-dasharray="6 4"/>`,
      text(
        bx - 4,
        TOP + 16 + 16 * i,
        formatBytes(profile.budgetBytes),
        `text-anchor="end" fill="${profile.colour}" font-weight="bold"`,
        12,
      ),
    ];
    if (profile.oracle) {
      parts.push(
        `<circle cx="${x(profile.oracle.bytes).toFixed(1)}" cy="${y(profile.oracle.ssim).toFixed(1)}" r="11" fill="none" stroke="#000" stroke-width="1.5"/>`,
      );
    }
    if (profile.engine) {
      parts.push(star(x(profile.engine.bytes), y(profile.engine.ssim), 10, profile.colour));
    }
    return parts;
  });
}

/** The legend, right of the plot: formats, scales, and each profile's budget and picks. */
function legend(plot: BytesVsSsimPlot): string[] {
  const parts: string[] = [];
  const lx = RIGHT + 28;
  let ly = TOP + 6;
  const heading = (label: string) => {
    parts.push(text(lx, ly, label, 'font-weight="bold"'));
    ly += 24;
  };
  heading('Format (colour)');
  for (const format of Object.keys(FORMAT_COLOURS)) {
    const colour = formatColour(format);
    parts.push(
      `<line x1="${lx}" y1="${ly - 5}" x2="${lx + 26}" y2="${ly - 5}" stroke="${colour}" stroke-width="2"/>`,
      marker('circle', lx + 13, ly - 5, 4, colour),
      text(lx + 36, ly, `${format} (qualities 20..95 joined)`),
    );
    ly += 22;
  }
  ly += 8;
  heading('Scale (marker)');
  for (const scale of SCALE_LADDER) {
    parts.push(marker(shapeOf(scale), lx + 13, ly - 5, 5, '#666'), text(lx + 36, ly, `x${scale}`));
    ly += 22;
  }
  ly += 8;
  heading('Network profile: budget, picks');
  for (const profile of plot.profiles) {
    parts.push(
      `<line x1="${lx}" y1="${ly - 5}" x2="${lx + 26}" y2="${ly - 5}" stroke="${profile.colour}" stroke-width="2" stroke-dasharray="6 4"/>`,
      text(lx + 36, ly, `${profile.label}: ${formatBytes(profile.budgetBytes)}`),
      star(lx + 13, ly + 17, 9, profile.colour),
      text(
        lx + 36,
        ly + 22,
        profile.engine ? describe(profile.engine) : 'fell back (original)',
        '',
        12,
      ),
      `<circle cx="${lx + 13}" cy="${ly + 39}" r="9" fill="none" stroke="#000" stroke-width="1.5"/>`,
      text(
        lx + 36,
        ly + 44,
        profile.oracle ? describe(profile.oracle) : 'none meets the floor',
        '',
        12,
      ),
    );
    ly += 72;
  }
  parts.push(
    text(lx, ly, 'star: engine (its session), ring: oracle', 'fill="#444"', 12),
    text(lx, ly + 16, '(exhaustive search, same budget and floor)', 'fill="#444"', 12),
  );
  return parts;
}

/** The plot as an SVG document. */
function bytesVsSsimSvg(plot: BytesVsSsimPlot): string {
  const scale = scaleOf(plot);
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${WIDTH}" height="${HEIGHT}">`,
    `<rect width="${WIDTH}" height="${HEIGHT}" fill="#fff"/>`,
    text(LEFT, 32, plot.title, 'font-weight="bold"', 20),
    text(LEFT, 56, plot.subtitle, 'fill="#444"'),
    ...axes(scale),
    ...candidates(plot, scale),
    ...picks(plot, scale),
    ...legend(plot),
    '</svg>',
  ].join('\n');
}

/** The plot rendered to PNG. */
export function renderBytesVsSsimPng(plot: BytesVsSsimPlot): Promise<Buffer> {
  return sharp(Buffer.from(bytesVsSsimSvg(plot)))
    .png()
    .toBuffer();
}
