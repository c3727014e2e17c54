/**
 * `npm run grpc:send -- <file-or-folder> [--session <uuid>] [--user <sub>]`: sends a frame, or every
 * JPEG/PNG/WebP of a folder in name order, over one `CompressStream` and prints one line per frame.
 *
 * Options: `--address host:port` (default AIC_GRPC_ADDRESS, else 127.0.0.1:GRPC_PORT or 50051),
 * `--mode off|conservative|adaptive|aggressive`, `--out <dir>` to save the compressed frames,
 * `--token <jwt>` (default AIC_TOKEN, else a development token for `--user`, signed with the local
 * key as `npm run token` does).
 */
import { randomUUID } from 'node:crypto';
import { mkdir, readdir, readFile, stat, writeFile } from 'node:fs/promises';
import { basename, extname, join } from 'node:path';
import { parseArgs } from 'node:util';
import * as grpc from '@grpc/grpc-js';
import { toProtoEnum } from '../functions/grpc/mapping.ts';
import {
  aicClientConstructor,
  type CompressStreamRequestMessage,
  type CompressStreamResponseMessage,
} from '../functions/grpc/proto.ts';
import { MAX_RECEIVE_MESSAGE_BYTES } from '../functions/grpc/server.ts';
import { jwtSettings, signToken } from '../functions/platform/jwt.ts';
import { loadSettings } from '../functions/platform/settings.ts';

const FRAME_EXTENSIONS = new Set(['.jpg', '.jpeg', '.png', '.webp']);
const OUTPUT_EXTENSIONS: Record<string, string> = {
  IMAGE_FORMAT_JPEG: '.jpg',
  IMAGE_FORMAT_PNG: '.png',
  IMAGE_FORMAT_WEBP: '.webp',
  IMAGE_FORMAT_AVIF: '.avif',
};

const USAGE =
  'usage: npm run grpc:send -- <file-or-folder> [--session <uuid>] [--user <sub>] [--mode <mode>] [--address host:port] [--out <dir>] [--token <jwt>]';

async function framesOf(path: string): Promise<string[]> {
  if (!(await stat(path)).isDirectory()) return [path];
  const names = (await readdir(path)).filter((name) =>
    FRAME_EXTENSIONS.has(extname(name).toLowerCase()),
  );
  return names.sort().map((name) => join(path, name));
}

function describe(file: string, response: CompressStreamResponseMessage): string {
  const name = basename(file);
  if (response.error) {
    const fields = response.error.details.map((d) => `${d.field}: ${d.message}`).join('; ');
    return `${name} error ${response.error.code} ${response.error.message}${fields ? ` (${fields})` : ''}`;
  }
  const r = response.result;
  if (!r) return `${name} error EMPTY_RESPONSE`;
  const status = r.status.replace('COMPRESSION_STATUS_', '').toLowerCase();
  const format = r.format.replace('IMAGE_FORMAT_', '').toLowerCase();
  return [
    name,
    status,
    `${format}${r.quality ? ` q${r.quality}` : ''}`,
    `${r.width}x${r.height}`,
    `${r.original_size_bytes} -> ${r.compressed_size_bytes} B`,
    `(${r.bandwidth_savings_percent.toFixed(1)} % saved, budget ${r.budget_bytes} B${r.within_budget ? '' : ' exceeded'})`,
    `ssim ${r.ssim?.toFixed(4) ?? '-'}`,
    `${r.latency_ms.total.toFixed(1)} ms`,
    r.fallback_reason ? `reason: ${r.fallback_reason}` : '',
  ]
    .filter(Boolean)
    .join(' ');
}

/** What the command line asks for. */
interface SendOptions {
  files: string[];
  address: string;
  token: string;
  sessionId: string;
  mode: string | undefined;
  out: string | undefined;
}

/** The options of the command line, or the exit code when there is nothing to send. */
async function readOptions(): Promise<SendOptions | number> {
  const { positionals, values } = parseArgs({
    allowPositionals: true,
    options: {
      session: { type: 'string' },
      user: { type: 'string', default: 'grpc-cli' },
      mode: { type: 'string' },
      address: { type: 'string' },
      out: { type: 'string' },
      token: { type: 'string' },
    },
  });
  const target = positionals[0];
  if (!target) {
    process.stderr.write(`${USAGE}\n`);
    return 2;
  }
  const files = await framesOf(target);
  if (files.length === 0) {
    process.stderr.write(`no JPEG, PNG or WebP frames in ${target}\n`);
    return 2;
  }
  const settings = loadSettings();
  return {
    files,
    address: values.address ?? settings.AIC_GRPC_ADDRESS ?? `127.0.0.1:${settings.GRPC_PORT}`,
    token:
      values.token ??
      settings.AIC_TOKEN ??
      (await signToken(values.user ?? 'grpc-cli', jwtSettings(settings), 3600)),
    sessionId: values.session ?? randomUUID(),
    mode: values.mode,
    out: values.out,
  };
}

type StreamCall = grpc.ClientDuplexStream<
  CompressStreamRequestMessage,
  CompressStreamResponseMessage
>;

/** A client of `address` and its `CompressStream`, authorised with `token`. */
function openStream(address: string, token: string): { client: grpc.Client; call: StreamCall } {
  const Client = aicClientConstructor();
  const client = new Client(address, grpc.credentials.createInsecure(), {
    'grpc.max_send_message_length': MAX_RECEIVE_MESSAGE_BYTES,
    'grpc.max_receive_message_length': MAX_RECEIVE_MESSAGE_BYTES,
  });
  const metadata = new grpc.Metadata();
  metadata.set('authorization', `Bearer ${token}`);
  const call = (client.CompressStream as (metadata: grpc.Metadata) => StreamCall)(metadata);
  return { client, call };
}

/** What came back of a stream so far. */
interface Answers {
  count: number;
  failed: number;
  /** The saves of compressed frames (`--out`). */
  writes: Promise<void>[];
}

/** Prints each response as it arrives (responses come in frame order) and saves it with `--out`. */
function collectAnswers(call: StreamCall, options: SendOptions): Answers {
  const answers: Answers = { count: 0, failed: 0, writes: [] };
  call.on('data', (response: CompressStreamResponseMessage) => {
    const file = options.files[answers.count++] ?? '?';
    if (response.error) answers.failed++;
    process.stdout.write(`${describe(file, response)}\n`);
    if (options.out && response.result) {
      const out = join(
        options.out,
        `${basename(file, extname(file))}${OUTPUT_EXTENSIONS[response.result.format] ?? '.bin'}`,
      );
      answers.writes.push(writeFile(out, response.result.compressed_data));
    }
  });
  return answers;
}

/** Sends every frame, then ends the stream. */
async function sendFrames(call: StreamCall, options: SendOptions): Promise<void> {
  // One frame in the send buffer at a time: a folder of 4K frames never sits in memory at once.
  for (const [number, file] of options.files.entries()) {
    const frame: CompressStreamRequestMessage['frame'] = {
      session_id: options.sessionId,
      frame_data: await readFile(file),
      metadata: { frame_number: number, frame_type: 'FRAME_TYPE_UNSPECIFIED' },
      mode: toProtoEnum('COMPRESSION_MODE', options.mode),
    };
    if (!call.write({ frame })) await new Promise((resolve) => call.once('drain', resolve));
  }
  call.end();
}

async function main(): Promise<number> {
  const options = await readOptions();
  if (typeof options === 'number') return options;
  if (options.out) await mkdir(options.out, { recursive: true });
  const { client, call } = openStream(options.address, options.token);
  const answers = collectAnswers(call, options);
  const status = new Promise<grpc.StatusObject>((resolve) => call.on('status', resolve));
  call.on('error', () => undefined);
  await sendFrames(call, options);
  const final = await status;
  await Promise.all(answers.writes);
  client.close();
  process.stderr.write(
    `session ${options.sessionId}: ${answers.count} of ${options.files.length} frames answered\n`,
  );
  if (final.code !== grpc.status.OK) {
    process.stderr.write(`stream ended with ${grpc.status[final.code]}: ${final.details}\n`);
    return 1;
  }
  return answers.failed > 0 ? 1 : 0;
}

process.exitCode = await main();
