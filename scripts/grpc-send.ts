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
import { jwtSettingsFromEnv, signToken } from '../functions/platform/jwt.ts';

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

async function main(): Promise<number> {
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
  const address =
    values.address ?? process.env.AIC_GRPC_ADDRESS ?? `127.0.0.1:${process.env.GRPC_PORT ?? 50051}`;
  const token =
    values.token ??
    process.env.AIC_TOKEN ??
    (await signToken(values.user ?? 'grpc-cli', jwtSettingsFromEnv(), 3600));
  const sessionId = values.session ?? randomUUID();
  if (values.out) await mkdir(values.out, { recursive: true });

  const Client = aicClientConstructor();
  const client = new Client(address, grpc.credentials.createInsecure(), {
    'grpc.max_send_message_length': MAX_RECEIVE_MESSAGE_BYTES,
    'grpc.max_receive_message_length': MAX_RECEIVE_MESSAGE_BYTES,
  });
  const metadata = new grpc.Metadata();
  metadata.set('authorization', `Bearer ${token}`);
  const call = (
    client.CompressStream as (
      metadata: grpc.Metadata,
    ) => grpc.ClientDuplexStream<CompressStreamRequestMessage, CompressStreamResponseMessage>
  )(metadata);

  let index = 0;
  let failed = 0;
  const writes: Promise<void>[] = [];
  call.on('data', (response: CompressStreamResponseMessage) => {
    const file = files[index++] ?? '?';
    if (response.error) failed++;
    process.stdout.write(`${describe(file, response)}\n`);
    if (values.out && response.result) {
      const out = join(
        values.out,
        `${basename(file, extname(file))}${OUTPUT_EXTENSIONS[response.result.format] ?? '.bin'}`,
      );
      writes.push(writeFile(out, response.result.compressed_data));
    }
  });
  const status = new Promise<grpc.StatusObject>((resolve) => call.on('status', resolve));
  call.on('error', () => undefined);

  // One frame in the send buffer at a time: a folder of 4K frames never sits in memory at once.
  for (const [number, file] of files.entries()) {
    const frame: CompressStreamRequestMessage['frame'] = {
      session_id: sessionId,
      frame_data: await readFile(file),
      metadata: { frame_number: number, frame_type: 'FRAME_TYPE_UNSPECIFIED' },
      mode: toProtoEnum('COMPRESSION_MODE', values.mode),
    };
    if (!call.write({ frame })) await new Promise((resolve) => call.once('drain', resolve));
  }
  call.end();
  const final = await status;
  await Promise.all(writes);
  client.close();
  process.stderr.write(`session ${sessionId}: ${index} of ${files.length} frames answered\n`);
  if (final.code !== grpc.status.OK) {
    process.stderr.write(`stream ended with ${grpc.status[final.code]}: ${final.details}\n`);
    return 1;
  }
  return failed > 0 ? 1 : 0;
}

process.exitCode = await main();
