/**
 * The screen content of the temporal benchmark: a documentation page as a browser shows it, drawn
 * by sharp (librsvg) from SVG text in DejaVu Sans and DejaVu Sans Mono. The page is a fixed frame
 * (a top bar and a sidebar) around a content column of headings, paragraphs of real-looking text,
 * code blocks and notes; the column can be taller than the window, to scroll it. Everything is laid
 * out from a seeded PRNG, so a seed always gives the same page.
 */
import sharp from 'sharp';
import { prng } from '../test/support/frames.ts';

/** An RGB image, 3 bytes per pixel, rows top to bottom. */
export interface RgbImage {
  readonly width: number;
  readonly height: number;
  readonly data: Buffer;
}

/** The browser window the page is shown in. */
export const WINDOW = { width: 1280, height: 720 } as const;
/** Height of the top bar; the content column starts below it. */
export const TOP_BAR = 56;
/** Width of the sidebar; the content column starts right of it. */
export const SIDEBAR = 260;
/** Size of the content column's viewport in the window. */
export const COLUMN = { width: WINDOW.width - SIDEBAR, height: WINDOW.height - TOP_BAR } as const;

const SANS = 'DejaVu Sans';
const MONO = 'DejaVu Sans Mono';
const TEXT_X = 40;
/** Characters per paragraph line: DejaVu Sans at 15 px averages about 8.4 px a character. */
const WRAP = 112;
const BODY = { size: 15, lineHeight: 24 } as const;
const CODE = { size: 14, lineHeight: 20 } as const;

const SENTENCES = [
  'Each session keeps a model of how its frames compress, so the first frames take a little longer than the rest.',
  'The service reads the network estimate that the client reports and turns it into a byte budget for every frame.',
  'A frame that cannot meet the quality floor within its budget is answered with the original bytes and a reason.',
  'Screen content is sent losslessly when that fits, because text loses legibility long before photographs do.',
  'Set the frame type to screen for captured windows and documents, and to video for camera input.',
  'The response carries the measured SSIM of what was sent, not an estimate taken before encoding.',
  'Clients should report their bandwidth at least once a second; older estimates decay towards the default.',
  'When the policy allows WebP, the engine compares both formats at the same budget and keeps the smaller one.',
  'Latency is bounded per frame: the search stops before the deadline even if a better encoding might exist.',
  'A dropped frame tells the sender to skip it; the viewer keeps showing the previous image until the next one.',
  'Sessions expire after ten minutes without frames, and their learned model is discarded with them.',
  'The dashboard shows, per caller, the share of frames sent within budget and the median quality reached.',
  'Authentication uses short-lived tokens signed by the identity provider; the service verifies each request.',
  'Packet loss lowers the usable bandwidth, so a lossy link gets smaller frames than a clean one of equal speed.',
  'Downscaled encodings are upscaled again before they are measured, exactly as the receiver would display them.',
  'The gRPC stream accepts frames back to back and answers them in order, one response per frame.',
  'Configuration is stored per caller and may be overridden for a single request by the policy fields.',
  'Use the conservative mode for text-heavy sessions where every glyph must stay readable.',
  'Every answer records which constraint set the budget: the network share or the target compression ratio.',
  'Errors follow the problem details format, with a machine-readable code for each rejected field.',
];

const HEADINGS = [
  'Creating a session',
  'Sending frames',
  'Reading the response',
  'Network estimates',
  'Quality and budgets',
  'Screen content',
  'Handling dropped frames',
  'Limits and quotas',
  'Configuration',
  'Troubleshooting',
];

const SNIPPETS = [
  [
    "import { AicClient } from '@auralink/aic';",
    '',
    'const client = new AicClient({ token: process.env.AIC_TOKEN });',
    "const session = await client.sessions.create({ mode: 'adaptive' });",
  ],
  [
    'for await (const frame of camera.frames()) {',
    '  const result = await session.compress(frame.data, {',
    "    frameType: 'video',",
    '    network: { bandwidthKbps: link.kbps, packetLossPercent: link.loss, fps: 30 },',
    '  });',
    "  if (result.status !== 'dropped') peer.send(result.frame);",
    '}',
  ],
  [
    'curl -X POST https://aic.example.com/v1/compress \\',
    '  -H "Authorization: Bearer $TOKEN" \\',
    '  -H "Content-Type: image/png" \\',
    '  --data-binary @frame.png',
  ],
  [
    '{',
    '  "status": "success",',
    '  "format": "webp",',
    '  "ssim": 0.9871,',
    '  "budget_bytes": 17531,',
    '  "within_budget": true',
    '}',
  ],
];

const NAV = [
  ['Overview', 'Quick start', 'Concepts'],
  ['Sessions', 'Compress a frame', 'Streaming over gRPC', 'Network estimates'],
  ['Policies', 'Modes', 'Quality floor', 'Budget misses'],
  ['Operations', 'Dashboard', 'Metrics', 'Alerts', 'Limits'],
];

/** The sentence typed, one word per typing edit, at the end of a paragraph. */
const TYPED = ['Budgets', 'apply', 'to', 'each', 'frame', 'on', 'its', 'own.'];

const esc = (text: string) =>
  text.replaceAll('&', '&amp;').replaceAll('<', '&lt;').replaceAll('>', '&gt;');

/** One line of text on the page, at its baseline. */
interface TextLine {
  readonly x: number;
  readonly y: number;
  text: string;
  readonly font: string;
  readonly size: number;
  readonly weight: 'normal' | 'bold';
  readonly fill: string;
}

/** A filled rectangle behind text (code blocks, notes). */
interface Box {
  readonly x: number;
  readonly y: number;
  readonly width: number;
  readonly height: number;
  readonly fill: string;
  readonly stroke: string;
}

/** The content column laid out: its text lines, its boxes, and the last line of each paragraph. */
export interface ColumnLayout {
  readonly width: number;
  readonly height: number;
  readonly lines: TextLine[];
  readonly boxes: Box[];
  /** Indices into `lines` of the last line of each paragraph, top to bottom: where edits type. */
  readonly paragraphEnds: number[];
}

function wrap(text: string, width: number): string[] {
  const lines: string[] = [];
  let line = '';
  for (const word of text.split(' ')) {
    if (line && line.length + 1 + word.length > width) {
      lines.push(line);
      line = word;
    } else line = line ? `${line} ${word}` : word;
  }
  if (line) lines.push(line);
  return lines;
}

const bodyLine = (y: number, text: string): TextLine => ({
  x: TEXT_X,
  y,
  text,
  font: SANS,
  size: BODY.size,
  weight: 'normal',
  fill: '#24292f',
});

/** `count` different sentences drawn from {@link SENTENCES}, as one text. */
function sentences(random: () => number, count: number): string {
  const chosen: string[] = [];
  while (chosen.length < count) {
    const sentence = SENTENCES[Math.floor(random() * SENTENCES.length)] as string;
    if (!chosen.includes(sentence)) chosen.push(sentence);
  }
  return chosen.join(' ');
}

/** Appends a paragraph of 2 to 4 sentences at `y`; returns the y below it. */
function paragraph(layout: ColumnLayout, random: () => number, y: number): number {
  let at = y;
  for (const text of wrap(sentences(random, 2 + Math.floor(random() * 3)), WRAP)) {
    at += BODY.lineHeight;
    layout.lines.push(bodyLine(at, text));
  }
  layout.paragraphEnds.push(layout.lines.length - 1);
  return at + 14;
}

/** Appends a code block at `y`; returns the y below it. */
function codeBlock(layout: ColumnLayout, random: () => number, y: number): number {
  const snippet = SNIPPETS[Math.floor(random() * SNIPPETS.length)] as string[];
  const height = snippet.length * CODE.lineHeight + 24;
  layout.boxes.push({
    x: TEXT_X,
    y: y + 6,
    width: layout.width - 2 * TEXT_X,
    height,
    fill: '#f6f8fa',
    stroke: '#d0d7de',
  });
  snippet.forEach((text, i) => {
    layout.lines.push({
      x: TEXT_X + 16,
      y: y + 6 + 12 + (i + 1) * CODE.lineHeight - 5,
      text,
      font: MONO,
      size: CODE.size,
      weight: 'normal',
      fill: text.startsWith('"') || text.includes("'") ? '#0a3069' : '#1f2328',
    });
  });
  return y + height + 24;
}

/** Appends a heading at `y`; returns the y below it. */
function heading(layout: ColumnLayout, text: string, level: 1 | 2, y: number): number {
  const size = level === 1 ? 30 : 21;
  const at = y + size + (level === 1 ? 8 : 18);
  layout.lines.push({ x: TEXT_X, y: at, text, font: SANS, size, weight: 'bold', fill: '#1f2328' });
  return at + 6;
}

/**
 * Lays out a content column `height` px tall: a title and an introduction, then sections (a
 * heading, paragraphs, sometimes a code block) until the column is full.
 */
export function layoutColumn(seed: number, height: number): ColumnLayout {
  const random = prng(seed);
  const layout: ColumnLayout = {
    width: COLUMN.width,
    height,
    lines: [],
    boxes: [],
    paragraphEnds: [],
  };
  let y = heading(layout, 'Compressing live frames', 1, 4);
  y = paragraph(layout, random, y);
  let section = Math.floor(random() * HEADINGS.length);
  while (y < height) {
    y = heading(layout, HEADINGS[section++ % HEADINGS.length] as string, 2, y);
    y = paragraph(layout, random, y);
    if (random() < 0.6) y = codeBlock(layout, random, y);
    y = paragraph(layout, random, y);
  }
  return layout;
}

/**
 * The layout after `edits` edits, alternately typing a word and rewriting a line: odd edits type
 * the next word of {@link TYPED} at the end of the visible paragraph whose last line is shortest
 * (a person writing a sentence), even edits replace a visible body line with other text.
 */
export function editLayout(
  layout: ColumnLayout,
  edits: number,
  visibleHeight: number,
): ColumnLayout {
  const lines = layout.lines.map((line) => ({ ...line }));
  const visible = (i: number) => (lines[i]?.y ?? Number.POSITIVE_INFINITY) < visibleHeight;
  const ends = layout.paragraphEnds.filter(visible);
  const typedAt = ends.reduce(
    (best, i) => ((lines[i]?.text.length ?? 0) < (lines[best]?.text.length ?? 0) ? i : best),
    ends[0] ?? -1,
  );
  const rewritable = lines.flatMap((line, i) =>
    visible(i) && line.font === SANS && line.weight === 'normal' && i !== typedAt ? [i] : [],
  );
  for (let k = 1; k <= edits; k++) {
    if (k % 2 === 1 && typedAt >= 0) {
      const line = lines[typedAt] as TextLine;
      line.text = `${line.text} ${TYPED[((k - 1) / 2) % TYPED.length]}`;
    } else if (rewritable.length > 0) {
      const random = prng(k);
      const line = lines[
        rewritable[Math.floor(random() * rewritable.length)] as number
      ] as TextLine;
      line.text = wrap(sentences(random, 2), WRAP)[0] as string;
    }
  }
  return { ...layout, lines };
}

function textSvg(line: TextLine): string {
  return `<text x="${line.x}" y="${line.y}" font-family="${line.font}" font-size="${line.size}" font-weight="${line.weight}" fill="${line.fill}" xml:space="preserve">${esc(line.text)}</text>`;
}

/** The content column drawn. */
export async function renderColumn(layout: ColumnLayout): Promise<RgbImage> {
  const svg = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${layout.width}" height="${layout.height}">`,
    `<rect width="100%" height="100%" fill="#ffffff"/>`,
    ...layout.boxes.map(
      (b) =>
        `<rect x="${b.x}" y="${b.y}" width="${b.width}" height="${b.height}" rx="6" fill="${b.fill}" stroke="${b.stroke}"/>`,
    ),
    ...layout.lines.map(textSvg),
    '</svg>',
  ].join('');
  return rasterise(svg);
}

function sidebarSvg(): string[] {
  const parts = [
    `<rect x="0" y="${TOP_BAR}" width="${SIDEBAR}" height="${COLUMN.height}" fill="#f6f8fa"/>`,
    `<rect x="${SIDEBAR - 1}" y="${TOP_BAR}" width="1" height="${COLUMN.height}" fill="#d0d7de"/>`,
  ];
  let y = TOP_BAR + 36;
  for (const [title, ...items] of NAV) {
    parts.push(
      `<text x="24" y="${y}" font-family="${SANS}" font-size="12" font-weight="bold" fill="#57606a">${esc((title as string).toUpperCase())}</text>`,
    );
    y += 28;
    for (const item of items) {
      const current = item === 'Compress a frame';
      if (current)
        parts.push(`<rect x="12" y="${y - 19}" width="232" height="28" rx="6" fill="#ddf4ff"/>`);
      parts.push(
        `<text x="32" y="${y}" font-family="${SANS}" font-size="14" fill="${current ? '#0969da' : '#24292f'}">${esc(item)}</text>`,
      );
      y += 30;
    }
    y += 16;
  }
  return parts;
}

/** The window's fixed parts: the top bar and the sidebar (the column's area left white). */
export async function renderChrome(): Promise<RgbImage> {
  const svg = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${WINDOW.width}" height="${WINDOW.height}">`,
    `<rect width="100%" height="100%" fill="#ffffff"/>`,
    `<rect width="100%" height="${TOP_BAR}" fill="#24292f"/>`,
    `<text x="24" y="36" font-family="${SANS}" font-size="19" font-weight="bold" fill="#ffffff">AuraLink AIC</text>`,
    `<text x="170" y="36" font-family="${SANS}" font-size="15" fill="#9198a1">Documentation</text>`,
    `<rect x="820" y="12" width="300" height="32" rx="6" fill="#393f46" stroke="#57606a"/>`,
    `<text x="836" y="33" font-family="${SANS}" font-size="14" fill="#9198a1">Search the docs</text>`,
    `<text x="1150" y="35" font-family="${SANS}" font-size="14" fill="#ffffff">API</text>`,
    `<text x="1200" y="35" font-family="${SANS}" font-size="14" fill="#ffffff">Status</text>`,
    ...sidebarSvg(),
    '</svg>',
  ].join('');
  return rasterise(svg);
}

async function rasterise(svg: string): Promise<RgbImage> {
  const { data, info } = await sharp(Buffer.from(svg))
    .removeAlpha()
    .raw()
    .toBuffer({ resolveWithObject: true });
  return { width: info.width, height: info.height, data };
}

/**
 * Copies a `width x height` block of `src` at (`srcX`, `srcY`) into `dst` at (`dstX`, `dstY`):
 * one row at a time, so a window onto a cached canvas costs a memory copy.
 */
export function blit(
  dst: RgbImage,
  src: RgbImage,
  block: { srcX: number; srcY: number; dstX: number; dstY: number; width: number; height: number },
): void {
  for (let row = 0; row < block.height; row++) {
    const from = ((block.srcY + row) * src.width + block.srcX) * 3;
    src.data.copy(
      dst.data,
      ((block.dstY + row) * dst.width + block.dstX) * 3,
      from,
      from + block.width * 3,
    );
  }
}

/** The window showing `column` scrolled down by `scroll` px inside `chrome`. */
export function windowAt(chrome: RgbImage, column: RgbImage, scroll: number): RgbImage {
  const frame: RgbImage = { ...chrome, data: Buffer.from(chrome.data) };
  blit(frame, column, {
    srcX: 0,
    srcY: scroll,
    dstX: SIDEBAR,
    dstY: TOP_BAR,
    width: COLUMN.width,
    height: COLUMN.height,
  });
  return frame;
}
