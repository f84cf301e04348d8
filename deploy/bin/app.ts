// The CDK app: one TokensStack per environment of tally.toml that has a
// `deploy` table. tally.toml is the repository root's (TALLY_DEPLOY_CONFIG
// or `-c config=PATH` names another); the asset is deploy/asset/, built by
// scripts/asset.sh (TALLY_DEPLOY_ASSET or `-c asset=PATH` names another).

import * as fs from 'node:fs';
import * as path from 'node:path';

import { App } from 'aws-cdk-lib';

import { ConfigError, loadConfig } from '../lib/config';
import { TokensStack } from '../lib/tokens-stack';

/** deploy/, from build/bin/. */
const DEPLOY = path.resolve(__dirname, '..', '..');

/** The asset's files; its tally.toml must be the one the stacks are made from. */
function checkAsset(asset: string, config: string): void {
  const rebuild = 'run scripts/asset.sh (or npm run synth), which builds it';
  for (const file of ['bootstrap', 'tally', 'tally.toml']) {
    if (!fs.existsSync(path.join(asset, file))) throw new ConfigError(`the asset ${asset} has no ${file}: ${rebuild}`);
  }
  if (!fs.readFileSync(path.join(asset, 'tally.toml')).equals(fs.readFileSync(config))) {
    throw new ConfigError(`${path.join(asset, 'tally.toml')} is not ${config}: the functions would run with other settings than the stacks grant; ${rebuild}`);
  }
}

function main(): void {
  const app = new App();
  const given = (key: string, variable: string): string | undefined =>
    (app.node.tryGetContext(key) as string | undefined) ?? (process.env[variable] || undefined);
  const config = path.resolve(given('config', 'TALLY_DEPLOY_CONFIG') ?? path.join(DEPLOY, '..', 'tally.toml'));
  const asset = path.resolve(given('asset', 'TALLY_DEPLOY_ASSET') ?? path.join(DEPLOY, 'asset'));
  const envs = loadConfig(config);
  checkAsset(asset, config);
  for (const env of envs) {
    new TokensStack(app, env.deploy.stack, { config: env, assetPath: asset });
  }
  app.synth();
}

try {
  main();
} catch (e) {
  if (!(e instanceof ConfigError)) throw e;
  console.error(`error: ${e.message}`);
  process.exit(1);
}
