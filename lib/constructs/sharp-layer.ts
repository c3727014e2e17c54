import { readFileSync } from 'node:fs';
import { AssetHashType, DockerImage, type ILocalBundling } from 'aws-cdk-lib';
import { Architecture, Code, LayerVersion, Runtime } from 'aws-cdk-lib/aws-lambda';
import { Construct } from 'constructs';
import {
  buildSharpLayer,
  SHARP_LAYER_PLATFORM,
  type SharpLayerManifest,
  sharpLayerFingerprint,
  sharpLayerManifest,
} from '../../layers/sharp/build.ts';
import { repoPath } from '../paths.ts';

/**
 * The Docker image CDK requires in bundling options. The layer is only ever built locally (there
 * is no Docker on the build machines), so running it is an error that says what to do instead.
 */
class LocalOnlyBundlingImage extends DockerImage {
  constructor() {
    super('auralink-aic/sharp-layer-local-bundling-only');
  }

  override run(): void {
    throw new Error(
      'The sharp layer is built locally with npm (layers/sharp/build.ts), never in Docker: ' +
        "Docker is not part of this project's toolchain.",
    );
  }
}

/** Runs layers/sharp/build.ts on the synthesizing machine. */
class LocalSharpBundling implements ILocalBundling {
  constructor(private readonly manifest: SharpLayerManifest) {}

  tryBundle(outputDir: string): boolean {
    buildSharpLayer(this.manifest, outputDir);
    return true;
  }
}

/**
 * A Lambda layer with sharp and its prebuilt libvips binaries for Node.js 22 on linux-arm64
 * (glibc), at the version locked in package-lock.json. The function bundles mark `sharp` external;
 * functions that load it attach this layer.
 *
 * The layer is built at synth time by npm (layers/sharp/build.ts), locally only. Its asset hash is
 * the fingerprint of the locked versions and the build script, so later synths reuse the built
 * asset in cdk.out instead of reinstalling.
 */
export class SharpLayer extends Construct {
  /** The sharp version in the layer, as locked in package-lock.json. */
  readonly sharpVersion: string;
  /** The layer version. */
  readonly layer: LayerVersion;

  constructor(scope: Construct, id: string) {
    super(scope, id);
    const manifest = sharpLayerManifest(readFileSync(repoPath('package-lock.json'), 'utf8'));
    this.sharpVersion = manifest.sharpVersion;
    const { os, cpu, libc } = SHARP_LAYER_PLATFORM;

    this.layer = new LayerVersion(this, 'Layer', {
      description: `sharp ${manifest.sharpVersion} for Node.js on ${os}-${cpu} (${libc})`,
      compatibleRuntimes: [Runtime.NODEJS_22_X],
      compatibleArchitectures: [Architecture.ARM_64],
      code: Code.fromAsset(repoPath('layers/sharp'), {
        assetHashType: AssetHashType.CUSTOM,
        assetHash: sharpLayerFingerprint(manifest),
        bundling: {
          image: new LocalOnlyBundlingImage(),
          local: new LocalSharpBundling(manifest),
        },
      }),
    });
  }
}
