import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { App, Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  SHARP_LAYER_NATIVE_PACKAGES,
  sharpLayerFingerprint,
  sharpLayerManifest,
} from '../../layers/sharp/build.ts';
import { SharpLayer } from '../../lib/constructs/sharp-layer.ts';
import { repoPath } from '../../lib/paths.ts';

type LockPackages = Record<string, { version?: string; integrity?: string }>;

const repoLockText = readFileSync(repoPath('package-lock.json'), 'utf8');
const repoLock = JSON.parse(repoLockText) as { packages: LockPackages };

describe('the sharp layer manifest', () => {
  it('pins sharp and every dependency to the repository lock, integrity included', () => {
    const manifest = sharpLayerManifest(repoLockText);
    expect(manifest.sharpVersion).toBe(repoLock.packages['node_modules/sharp']?.version);
    expect(manifest.packageJson).toMatchObject({ dependencies: { sharp: manifest.sharpVersion } });
    const packages = manifest.packageLock.packages as LockPackages;
    for (const name of ['sharp', ...SHARP_LAYER_NATIVE_PACKAGES]) {
      const path = `node_modules/${name}`;
      expect(packages[path], path).toBeDefined();
      expect(packages[path]?.version).toBe(repoLock.packages[path]?.version);
      expect(packages[path]?.integrity).toBe(repoLock.packages[path]?.integrity);
    }
    // Only what sharp needs: nothing of the functions' other dependencies.
    expect(packages['node_modules/zod']).toBeUndefined();
  });

  it('fingerprints the locked versions, so a different sharp means a different asset', () => {
    const manifest = sharpLayerManifest(repoLockText);
    const bumped = JSON.parse(repoLockText) as typeof repoLock;
    (bumped.packages['node_modules/sharp'] as { version: string }).version = '0.0.1';
    expect(sharpLayerFingerprint(manifest)).toBe(sharpLayerFingerprint(manifest));
    expect(sharpLayerFingerprint(sharpLayerManifest(JSON.stringify(bumped)))).not.toBe(
      sharpLayerFingerprint(manifest),
    );
  });

  it('refuses a lockfile without sharp', () => {
    const withoutSharp = JSON.parse(repoLockText) as typeof repoLock;
    Reflect.deleteProperty(withoutSharp.packages, 'node_modules/sharp');
    expect(() => sharpLayerManifest(JSON.stringify(withoutSharp))).toThrow(/does not lock sharp/);
  });
});

describe('the sharp layer with real bundling', () => {
  let outdir: string;

  beforeAll(() => {
    outdir = mkdtempSync(join(tmpdir(), 'aic-sharp-layer-'));
  });

  afterAll(() => {
    rmSync(outdir, { recursive: true, force: true });
  });

  it('installs the linux-arm64 glibc binaries of the locked sharp, and no other platform', {
    timeout: 300_000,
  }, () => {
    const app = new App({ outdir });
    const stack = new Stack(app, 'LayerOnly');
    const sharp = new SharpLayer(stack, 'SharpLayer');
    app.synth();

    const layers = Template.fromStack(stack).findResources('AWS::Lambda::LayerVersion');
    const [layer] = Object.values(layers) as { Properties: { Content: { S3Key: string } } }[];
    const assetDir = join(outdir, `asset.${layer?.Properties.Content.S3Key.replace(/\.zip$/, '')}`);
    const modules = join(assetDir, 'nodejs', 'node_modules');

    const installed = JSON.parse(readFileSync(join(modules, 'sharp', 'package.json'), 'utf8')) as {
      version: string;
    };
    expect(installed.version).toBe(sharp.sharpVersion);
    const binding = join(modules, '@img', 'sharp-linux-arm64', 'lib');
    expect(readdirSync(binding)).toContain(`sharp-linux-arm64-${sharp.sharpVersion}.node`);
    // An aarch64 ELF shared object: e_machine (offset 18) is 183 (EM_AARCH64).
    const elf = readFileSync(join(binding, `sharp-linux-arm64-${sharp.sharpVersion}.node`));
    expect(elf.subarray(0, 4).toString('latin1')).toBe('\x7fELF');
    expect(elf.readUInt16LE(18)).toBe(183);
    expect(existsSync(join(modules, '@img', 'sharp-libvips-linux-arm64', 'lib'))).toBe(true);

    const nativePackages = readdirSync(join(modules, '@img')).filter((name) =>
      name.startsWith('sharp-'),
    );
    expect(nativePackages.sort()).toEqual(
      SHARP_LAYER_NATIVE_PACKAGES.map((name) => name.replace('@img/', '')),
    );
    expect(nativePackages.some((name) => name.includes('x64'))).toBe(false);

    // The exec wrapper of lib/config/node-flags.ts, at the layer's root (/opt), executable.
    const wrapper = join(assetDir, 'aic-node-flags');
    expect(readFileSync(wrapper, 'utf8')).toBe(
      readFileSync(repoPath('layers/sharp/aic-node-flags'), 'utf8'),
    );
    expect(statSync(wrapper).mode & 0o111).toBe(0o111);
  });
});
