import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import {
  chmodSync,
  copyFileSync,
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  writeFileSync,
} from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

/**
 * Builds the sharp Lambda layer: sharp and its native binaries for linux-arm64 (glibc), the
 * platform of the Node.js 22 arm64 runtime, under `nodejs/node_modules` where Lambda resolves
 * layer packages.
 *
 * The versions come from the repository's package-lock.json: the layer gets a lockfile holding
 * exactly the lock entries of sharp and its dependencies (versions and integrity hashes), and
 * `npm ci` installs it for the target platform. The code that is bundled against sharp and the
 * layer that provides it therefore cannot drift apart.
 */

/** The platform the layer is installed for; npm picks sharp's optional binary packages by it. */
export const SHARP_LAYER_PLATFORM = { os: 'linux', cpu: 'arm64', libc: 'glibc' } as const;

/** The native packages the layer must contain: sharp's binding and libvips for the platform. */
export const SHARP_LAYER_NATIVE_PACKAGES = [
  '@img/sharp-libvips-linux-arm64',
  '@img/sharp-linux-arm64',
] as const;

/** One entry of package-lock.json's `packages` map (lockfile version 2 or 3). */
interface LockEntry {
  readonly version?: string;
  readonly dependencies?: Record<string, string>;
  readonly optionalDependencies?: Record<string, string>;
  readonly dev?: boolean;
  readonly devOptional?: boolean;
}

/** The package manifest and lockfile that `npm ci` installs into the layer's `nodejs` folder. */
export interface SharpLayerManifest {
  /** The sharp version, as locked in the repository. */
  readonly sharpVersion: string;
  readonly packageJson: Record<string, unknown>;
  readonly packageLock: Record<string, unknown>;
}

/**
 * Derives the layer's package.json and package-lock.json from the repository's lockfile: the root
 * depends on the locked sharp version, and the lock keeps every entry reachable from sharp through
 * its dependencies and optional dependencies (all platforms; `npm ci` skips the foreign ones).
 *
 * @param repoLockText - the text of the repository's package-lock.json.
 * @throws Error if the lockfile is not version 2 or 3 or does not contain sharp.
 */
export function sharpLayerManifest(repoLockText: string): SharpLayerManifest {
  const lock = JSON.parse(repoLockText) as {
    lockfileVersion?: number;
    packages?: Record<string, LockEntry>;
  };
  const packages = lock.packages;
  if (!packages || (lock.lockfileVersion ?? 0) < 2) {
    throw new Error('package-lock.json must be lockfile version 2 or 3 (npm 7 or later)');
  }
  const sharpVersion = packages['node_modules/sharp']?.version;
  if (!sharpVersion) throw new Error('package-lock.json does not lock sharp: the layer needs it');

  const kept: Record<string, LockEntry> = {};
  const visit = (fromPath: string, name: string): void => {
    const path = resolveLockPath(packages, fromPath, name);
    if (kept[path]) return;
    const entry = packages[path] as LockEntry;
    // Everything in the layer is runtime code, whatever the repository's lock says: a dev flag
    // would make `npm ci --omit=dev` silently leave the package out.
    const { dev: _dev, devOptional: _devOptional, ...runtimeEntry } = entry;
    kept[path] = runtimeEntry;
    for (const dependency of Object.keys({
      ...entry.dependencies,
      ...entry.optionalDependencies,
    })) {
      visit(path, dependency);
    }
  };
  visit('', 'sharp');

  const root = {
    name: 'auralink-aic-sharp-layer',
    private: true,
    dependencies: { sharp: sharpVersion },
  };
  return {
    sharpVersion,
    packageJson: root,
    packageLock: {
      name: root.name,
      lockfileVersion: 3,
      requires: true,
      packages: { '': { name: root.name, dependencies: root.dependencies }, ...sorted(kept) },
    },
  };
}

/**
 * The lock path that Node.js resolution finds for `name` required from the package at
 * `fromPath`: its own nested node_modules first, then each ancestor's, up to the root.
 */
function resolveLockPath(
  packages: Record<string, LockEntry>,
  fromPath: string,
  name: string,
): string {
  let base = fromPath;
  for (;;) {
    const candidate = `${base ? `${base}/` : ''}node_modules/${name}`;
    if (packages[candidate]) return candidate;
    if (!base) throw new Error(`package-lock.json has no entry for ${name} (needed by sharp)`);
    const parent = base.lastIndexOf('/node_modules/');
    base = parent < 0 ? '' : base.slice(0, parent);
  }
}

function sorted<T>(record: Record<string, T>): Record<string, T> {
  return Object.fromEntries(Object.entries(record).sort(([a], [b]) => a.localeCompare(b)));
}

/**
 * A fingerprint of everything that determines the layer's content: the derived lockfile (sharp's
 * version and every dependency's integrity hash) and this build script. Used as the CDK asset
 * hash, so a synth only rebuilds the layer when one of them changes.
 */
export function sharpLayerFingerprint(manifest: SharpLayerManifest): string {
  return createHash('sha256')
    .update(JSON.stringify(manifest.packageLock))
    .update(readFileSync(fileURLToPath(import.meta.url)))
    .update(readFileSync(NODE_FLAGS_WRAPPER_SOURCE))
    .digest('hex');
}

/** The Lambda exec wrapper the layer carries at its root (`/opt/aic-node-flags`). */
const NODE_FLAGS_WRAPPER_SOURCE = fileURLToPath(new URL('./aic-node-flags', import.meta.url));

/**
 * Installs the layer into `outputDir/nodejs` with `npm ci` for {@link SHARP_LAYER_PLATFORM} and
 * checks that exactly the arm64 native packages landed there. Needs the npm registry (or a warm
 * npm cache); it never runs install scripts, as the binaries are prebuilt.
 *
 * @throws Error if npm fails or the installed tree lacks the arm64 binaries or has foreign ones.
 */
export function buildSharpLayer(manifest: SharpLayerManifest, outputDir: string): void {
  const nodejsDir = join(outputDir, 'nodejs');
  mkdirSync(nodejsDir, { recursive: true });
  writeFileSync(
    join(nodejsDir, 'package.json'),
    `${JSON.stringify(manifest.packageJson, null, 2)}\n`,
  );
  writeFileSync(
    join(nodejsDir, 'package-lock.json'),
    `${JSON.stringify(manifest.packageLock, null, 2)}\n`,
  );

  const { os, cpu, libc } = SHARP_LAYER_PLATFORM;
  const args = [
    'ci',
    '--omit=dev',
    `--os=${os}`,
    `--cpu=${cpu}`,
    `--libc=${libc}`,
    '--ignore-scripts',
    '--prefer-offline',
    '--no-audit',
    '--no-fund',
    '--loglevel=error',
  ];
  const result = spawnSync('npm', args, { cwd: nodejsDir, encoding: 'utf8' });
  if (result.error || result.status !== 0) {
    throw new Error(
      `Building the sharp layer failed: npm ${args.join(' ')} in ${nodejsDir} ` +
        `${result.error ? `could not start (${result.error.message})` : `exited ${result.status}`}` +
        `\n${result.stderr ?? ''}`,
    );
  }

  const imgDir = join(nodejsDir, 'node_modules', '@img');
  const native = existsSync(imgDir)
    ? readdirSync(imgDir)
        .filter((name) => name.startsWith('sharp-'))
        .map((name) => `@img/${name}`)
        .sort()
    : [];
  if (JSON.stringify(native) !== JSON.stringify([...SHARP_LAYER_NATIVE_PACKAGES])) {
    throw new Error(
      `The sharp layer must hold exactly ${SHARP_LAYER_NATIVE_PACKAGES.join(', ')}; npm ` +
        `installed ${native.length > 0 ? native.join(', ') : 'no native package'} in ${nodejsDir}`,
    );
  }

  // The functions that load sharp run Node through this wrapper (see lib/config/node-flags.ts).
  const wrapper = join(outputDir, 'aic-node-flags');
  copyFileSync(NODE_FLAGS_WRAPPER_SOURCE, wrapper);
  chmodSync(wrapper, 0o755);
}
