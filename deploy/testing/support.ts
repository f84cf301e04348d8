// What the assertion tests share: the real tally.toml, a fake asset, stacks
// made with cdk.json's feature flags (as `cdk synth` makes them), and
// intrinsics resolved to plain strings so that whole documents compare.

import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

import { App } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';

import { EnvConfig, fromToml, parseToml } from '../lib/config';
import { TokensStack } from '../lib/tokens-stack';

/** deploy/, from build/testing/. */
const DEPLOY = path.resolve(__dirname, '..', '..');
export const TALLY_TOML = path.join(DEPLOY, '..', 'tally.toml');

/** The repository's tally.toml, parsed (a fresh copy each time: tests edit it). */
export function realToml(): Record<string, any> {
  return parseToml(fs.readFileSync(TALLY_TOML, 'utf8'), TALLY_TOML) as Record<string, any>;
}

/** The environments of a parsed tally.toml, by name. */
export function envsOf(doc: Record<string, unknown>): Record<string, EnvConfig> {
  return Object.fromEntries(fromToml(doc).map((e) => [e.name, e]));
}

/** The real tally.toml with `edit` applied to its parsed form, environment `name`. */
export function editedEnv(name: string, edit: (env: Record<string, any>) => void): EnvConfig {
  const doc = realToml();
  edit(doc.env[name]);
  return envsOf(doc)[name];
}

let asset: string | undefined;

/** A folder standing in for deploy/asset/ (the real one is built by synth). */
export function fakeAsset(): string {
  if (asset === undefined) {
    asset = fs.mkdtempSync(path.join(os.tmpdir(), 'tally-deploy-asset-'));
    fs.writeFileSync(path.join(asset, 'bootstrap'), '#!/bin/sh\nexec "$LAMBDA_TASK_ROOT/tally" lambda\n', { mode: 0o755 });
    fs.writeFileSync(path.join(asset, 'tally'), 'not a binary: the assertion tests never run it\n', { mode: 0o755 });
    fs.copyFileSync(TALLY_TOML, path.join(asset, 'tally.toml'));
    process.on('exit', () => fs.rmSync(asset!, { recursive: true, force: true }));
  }
  return asset;
}

/** cdk.json's context: the feature flags `cdk synth` runs with. */
function cdkContext(): Record<string, unknown> {
  return JSON.parse(fs.readFileSync(path.join(DEPLOY, 'cdk.json'), 'utf8')).context;
}

/** The stack of `env` and its template. */
export function build(env: EnvConfig): { stack: TokensStack; template: Template } {
  // Path metadata, as the CLI asks for it: resources are found by construct path.
  const app = new App({ context: { ...cdkContext(), 'aws:cdk:enable-path-metadata': true }, analyticsReporting: false });
  const stack = new TokensStack(app, env.deploy.stack, { config: env, assetPath: fakeAsset() });
  return { stack, template: Template.fromStack(stack) };
}

/**
 * `value` with CloudFormation's intrinsics written out: `{Ref: X}` becomes
 * `${X}`, `Fn::GetAtt` `${X.Attr}`, `Fn::Join` and `Fn::Sub` their string.
 */
export function resolve(value: unknown): any {
  if (Array.isArray(value)) return value.map(resolve);
  if (value === null || typeof value !== 'object') return value;
  const o = value as Record<string, unknown>;
  const keys = Object.keys(o);
  if (keys.length === 1) {
    const [k] = keys;
    const v = o[k];
    if (k === 'Ref') return `\${${v as string}}`;
    if (k === 'Fn::GetAtt') return `\${${(v as string[]).join('.')}}`;
    if (k === 'Fn::Join') {
      const [sep, parts] = v as [string, unknown[]];
      return parts.map(resolve).join(sep);
    }
    if (k === 'Fn::Sub' && typeof v === 'string') return v;
  }
  return Object.fromEntries(keys.map((k) => [k, resolve(o[k])]));
}

/** The one resource of `type` whose construct path ends with `suffix`: its logical id and body. */
export function resource(template: Template, type: string, suffix: string): { id: string; body: any } {
  const found = Object.entries(template.findResources(type)).filter(([, r]) =>
    String(r.Metadata?.['aws:cdk:path'] ?? '').endsWith(suffix),
  );
  if (found.length !== 1) throw new Error(`${found.length} resources of type ${type} at .../${suffix}`);
  return { id: found[0][0], body: found[0][1] };
}

const asArray = (v: unknown): unknown[] => (v === undefined ? [] : Array.isArray(v) ? v : [v]);

/**
 * A policy document with its intrinsics resolved, each statement's actions
 * and resources as sorted arrays and the statements sorted by Sid, so that
 * two documents are equal iff they allow the same things.
 */
export function normalPolicy(doc: any): any {
  const r = resolve(doc);
  return {
    Version: r.Version,
    Statement: asArray(r.Statement)
      .map((s: any) => {
        const out: Record<string, unknown> = { ...s, Action: asArray(s.Action).sort() };
        if (s.Resource !== undefined) out.Resource = asArray(s.Resource).sort();
        return out;
      })
      .sort((a: any, b: any) => String(a.Sid).localeCompare(String(b.Sid))),
  };
}

/** CloudFormation's `Tags` list as a map. */
export function tagMap(tags: { Key: string; Value: string }[] | undefined): Record<string, string> {
  return Object.fromEntries((tags ?? []).map((t) => [t.Key, t.Value]));
}

/** The pseudo-parameters' placeholders in resolved ARNs. */
export const P = '${AWS::Partition}';
export const R = '${AWS::Region}';
export const A = '${AWS::AccountId}';
