// tally.toml, read for deployment: every environment that has a `deploy`
// table becomes one `EnvConfig`, checked here so that the stack only ever
// sees complete, well-typed values. The runner reads the same file (the
// asset ships a copy); this module reads what the stack needs of it: the
// seeds' names (tables, bucket, prefixes, dates, Athena), the schedule,
// `sse` and `detail` (they decide grants), and the `deploy` table.

import * as fs from 'node:fs';
import { parse } from 'smol-toml';

/** A problem with tally.toml; the message names the environment and the key. */
export class ConfigError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ConfigError';
  }
}

/** The two jobs, by the runner's `TALLY_JOB` names. */
export type Job = 'archive' | 'consolidate';

/** How one Lambda is deployed (`deploy.archive`, `deploy.consolidate`). */
export interface FunctionDeploy {
  readonly name: string;
  readonly memoryMb: number;
  readonly timeoutS: number;
  /** The `DataSource` tag. */
  readonly dataSource: string;
}

/** An S3 location: a bucket and a key or key prefix (no leading `/`). */
export interface S3Place {
  readonly bucket: string;
  readonly key: string;
}

/** The Athena names of a daily job that refreshes the view. */
export interface AthenaConfig {
  readonly database: string;
  readonly workgroup: string;
  readonly view: string;
  readonly table: string;
}

/** Server-side encryption of the outputs (`sse`, the runner's `--sse`). */
export type Sse =
  | { readonly mode: 'none' }
  | { readonly mode: 'AES256' }
  /** The AWS-managed key (`aws:kms`): its key policy covers S3's use of it. */
  | { readonly mode: 'aws:kms' }
  /** A customer key: an id (`1234abcd-...`, `mrk-...`) or a key ARN. */
  | { readonly mode: 'aws:kms:key'; readonly key: string };

/** The `deploy` table. */
export interface DeployConfig {
  readonly stack: string;
  readonly rule: string;
  readonly tags: Readonly<Record<string, string>>;
  readonly archive: FunctionDeploy;
  readonly consolidate: FunctionDeploy;
  /** The stack creates the reports bucket (default: it exists). */
  readonly createBucket: boolean;
  /** The stack creates the Athena workgroup (default: it exists). */
  readonly createWorkgroup: boolean;
  /** Where Athena writes query results, when the role must be allowed to. */
  readonly athenaResults?: S3Place;
  /** Days the functions' logs are kept. */
  readonly logRetentionDays: number;
}

/** One environment of tally.toml, as deployed. */
export interface EnvConfig {
  readonly name: string;
  readonly oldTable: string;
  readonly newTable: string;
  readonly bucket: string;
  /** Ends with `/`. */
  readonly outputPrefix: string;
  /** Ends with `/`. */
  readonly historicalPrefix: string;
  readonly dates: { readonly archivalStart: string; readonly archivalEnd: string; readonly consolidatedStart: string };
  /** Present when the daily job refreshes the view (`athena.refresh = true`). */
  readonly athena?: AthenaConfig;
  readonly schedule: { readonly enabled: boolean; readonly cron: string };
  readonly sse: Sse;
  /** The daily job's detail CSV (`detail`). */
  readonly detail?: S3Place;
  /** The archival's detail CSV (`archive_detail`). */
  readonly archiveDetail?: S3Place;
  /** bedrock-chat's large-message bucket (`large_message_bucket`), which both jobs read. */
  readonly largeMessageBucket?: string;
  readonly deploy: DeployConfig;
}

/** The runner's defaults (native-runner/src/settings.rs). */
export const DEFAULT_WORKGROUP = 'primary';
export const DEFAULT_VIEW = 'token_usage_analysis';
export const DEFAULT_TABLE = 'tokens_table_consolidated';
export const DEFAULT_LOG_RETENTION_DAYS = 90;

/** CloudWatch Logs' retention values. */
const RETENTION_DAYS = [1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653];

/** Tags the stack sets itself on each function's resources. */
const OWN_TAGS = ['ETLComponent', 'DataSource'];

type Table = Record<string, unknown>;

function isTable(v: unknown): v is Table {
  return typeof v === 'object' && v !== null && !Array.isArray(v) && !(v instanceof Date);
}

function typeName(v: unknown): string {
  if (Array.isArray(v)) return 'an array';
  if (v instanceof Date) return 'a date';
  if (isTable(v)) return 'a table';
  return `${typeof v === 'number' ? 'the number' : typeof v === 'boolean' ? 'the boolean' : 'the string'} ${JSON.stringify(v)}`;
}

/** Reads one table's keys with messages that say where they were. */
class Reader {
  constructor(
    private readonly env: string,
    private readonly prefix: string,
    private readonly table: Table,
  ) {}

  fail(key: string, what: string): never {
    throw new ConfigError(`tally.toml, environment ${JSON.stringify(this.env)}: ${this.prefix}${key} ${what}`);
  }

  private got(key: string, want: string): never {
    return this.fail(key, `must be ${want}, not ${typeName(this.table[key])}`);
  }

  has(key: string): boolean {
    return this.table[key] !== undefined;
  }

  string(key: string, want = 'a string'): string {
    const v = this.table[key];
    if (v === undefined) this.fail(key, `is missing (${want})`);
    if (typeof v !== 'string') this.got(key, want);
    if (v === '') this.fail(key, `is empty (${want})`);
    return v;
  }

  optString(key: string, want = 'a string'): string | undefined {
    return this.has(key) ? this.string(key, want) : undefined;
  }

  matching(key: string, pattern: RegExp, want: string): string {
    const v = this.string(key, want);
    if (!pattern.test(v)) this.fail(key, `must be ${want}, not ${JSON.stringify(v)}`);
    return v;
  }

  bool(key: string): boolean {
    const v = this.table[key];
    if (v === undefined) this.fail(key, 'is missing (true or false)');
    if (typeof v !== 'boolean') this.got(key, 'true or false');
    return v;
  }

  optBool(key: string, fallback: boolean): boolean {
    return this.has(key) ? this.bool(key) : fallback;
  }

  int(key: string, min: number, max: number, unit: string): number {
    const want = `an integer from ${min} to ${max} (${unit})`;
    const v = this.table[key];
    if (v === undefined) this.fail(key, `is missing (${want})`);
    if (typeof v !== 'number' || !Number.isInteger(v)) this.got(key, want);
    if (v < min || v > max) this.fail(key, `must be ${want}, not ${v}`);
    return v;
  }

  sub(key: string, required: boolean): Reader | undefined {
    const v = this.table[key];
    if (v === undefined) {
      if (required) this.fail(key, 'is missing (a table)');
      return undefined;
    }
    if (!isTable(v)) this.got(key, 'a table');
    return new Reader(this.env, `${this.prefix}${key}.`, v);
  }

  /** Refuses keys outside `known` (a typo would otherwise be ignored). */
  only(known: readonly string[]): void {
    for (const key of Object.keys(this.table)) {
      if (!known.includes(key)) this.fail(key, `is not a known key (known: ${known.join(', ')})`);
    }
  }

  entries(): [string, unknown][] {
    return Object.entries(this.table);
  }
}

const DAY = /^\d{4}-\d{2}-\d{2}$/;
const BUCKET = /^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/;
const FUNCTION_NAME = /^[A-Za-z0-9_-]{1,64}$/;
const STACK_NAME = /^[A-Za-z][A-Za-z0-9-]{0,127}$/;
const RULE_NAME = /^[A-Za-z0-9._-]{1,64}$/;
const SCHEDULE = /^(cron|rate)\(.+\)$/;
/** Athena names as the runner accepts them (athena.rs `ident`). */
const ATHENA_NAME = /^[A-Za-z0-9_-]+$/;
const WORKGROUP = /^[A-Za-z0-9._-]{1,128}$/;

/** A key prefix for grants: not empty, no leading `/`, ends with `/`. */
function prefix(r: Reader, key: string): string {
  const v = r.string(key, 'a folder of the bucket, such as "tokens-analysis/"');
  if (v.startsWith('/')) r.fail(key, `must not start with "/": ${JSON.stringify(v)}`);
  if (v.includes('*') || v.includes('?')) r.fail(key, `must not hold "*" or "?" (IAM wildcards): ${JSON.stringify(v)}`);
  return v.endsWith('/') ? v : `${v}/`;
}

/** `s3://bucket/key`; `folder` asks for a prefix (ending with `/`). */
function s3Place(r: Reader, key: string, folder: boolean): S3Place {
  const want = folder ? 'an S3 folder "s3://BUCKET/PREFIX/"' : 'an S3 object "s3://BUCKET/KEY"';
  const v = r.string(key, want);
  const m = /^s3:\/\/([^/]+)\/(.*)$/.exec(v);
  if (!m || !BUCKET.test(m[1]) || (!folder && (m[2] === '' || m[2].endsWith('/')))) {
    r.fail(key, `must be ${want}, not ${JSON.stringify(v)}`);
  }
  if (m[2].includes('*') || m[2].includes('?')) r.fail(key, `must not hold "*" or "?" (IAM wildcards): ${JSON.stringify(v)}`);
  const k = folder && m[2] !== '' && !m[2].endsWith('/') ? `${m[2]}/` : m[2];
  return { bucket: m[1], key: k };
}

/** The runner's spellings (native-runner/src/s3.rs `Sse::from_str`). */
function sse(r: Reader): Sse {
  const v = r.optString('sse', 'none, AES256, aws:kms or aws:kms:KEY-ID');
  if (v === undefined || v === 'none') return { mode: 'none' };
  if (v === 'AES256' || v === 'aes256') return { mode: 'AES256' };
  if (v === 'aws:kms' || v === 'kms') return { mode: 'aws:kms' };
  const key = v.startsWith('aws:kms:') ? v.slice('aws:kms:'.length) : v.startsWith('kms:') ? v.slice('kms:'.length) : undefined;
  if (key === undefined) r.fail('sse', `must be none, AES256, aws:kms or aws:kms:KEY-ID, not ${JSON.stringify(v)}`);
  if (key.startsWith('alias/') || /^arn:[^:]+:kms:[^:]*:[^:]*:alias\//.test(key)) {
    r.fail('sse', `names a KMS alias (${JSON.stringify(key)}): give the key's id or ARN, which IAM can grant (an alias can point anywhere)`);
  }
  const id = /^(mrk-[0-9a-f]{32}|[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})$/;
  const arn = /^arn:aws[a-z-]*:kms:[a-z0-9-]+:\d{12}:key\/(mrk-[0-9a-f]{32}|[0-9a-f-]{36})$/;
  if (!id.test(key) && !arn.test(key)) {
    r.fail('sse', `must name a KMS key by its id ("1234abcd-12ab-34cd-56ef-1234567890ab", "mrk-...") or its key ARN, not ${JSON.stringify(key)}`);
  }
  return { mode: 'aws:kms:key', key };
}

function functionDeploy(r: Reader, key: Job): FunctionDeploy {
  const f = r.sub(key, true)!;
  f.only(['name', 'memory_mb', 'timeout_s', 'data_source']);
  return {
    name: f.matching('name', FUNCTION_NAME, 'a Lambda function name (letters, digits, "-", "_", at most 64)'),
    memoryMb: f.int('memory_mb', 128, 10240, 'MB'),
    timeoutS: f.int('timeout_s', 1, 900, 'seconds'),
    dataSource: f.string('data_source', 'the DataSource tag, such as "DynamoDB-Old"'),
  };
}

function tags(r: Reader): Record<string, string> {
  const t = r.sub('tags', true)!;
  const out: Record<string, string> = {};
  for (const [key] of t.entries()) {
    if (OWN_TAGS.includes(key)) t.fail(key, `is set by the stack on each function (${OWN_TAGS.join(', ')}): leave it out`);
    if (key.startsWith('aws:')) t.fail(key, 'uses the reserved prefix "aws:"');
    out[key] = t.string(key, 'a string (the tag value)');
  }
  return out;
}

function deploy(r: Reader, env: Reader, athena: AthenaConfig | undefined, name: string): DeployConfig {
  r.only(['stack', 'rule', 'tags', 'archive', 'consolidate', 'create_bucket', 'create_workgroup', 'athena_results', 'log_retention_days']);
  const createWorkgroup = r.optBool('create_workgroup', false);
  if (createWorkgroup && athena === undefined) r.fail('create_workgroup', 'needs athena.refresh = true (the workgroup is the view refresh\'s)');
  if (createWorkgroup && athena?.workgroup === DEFAULT_WORKGROUP) {
    r.fail('create_workgroup', `cannot create the workgroup "${DEFAULT_WORKGROUP}", which every account has: name another in athena.workgroup`);
  }
  let athenaResults = r.has('athena_results') ? s3Place(r, 'athena_results', true) : undefined;
  if (athenaResults !== undefined && athena === undefined) r.fail('athena_results', 'needs athena.refresh = true (only the view refresh runs queries)');
  const output = env.string('output_prefix');
  if (athenaResults?.bucket === env.string('bucket') && athenaResults.key.startsWith(output.endsWith('/') ? output : `${output}/`)) {
    r.fail('athena_results', `must not be under output_prefix (${output}): the Athena table reads every file of that folder`);
  }
  if (athenaResults === undefined && createWorkgroup) {
    athenaResults = { bucket: env.string('bucket'), key: `athena-results/${name}/` };
  }
  const retention = r.has('log_retention_days') ? r.int('log_retention_days', 1, 3653, 'days') : DEFAULT_LOG_RETENTION_DAYS;
  if (!RETENTION_DAYS.includes(retention)) r.fail('log_retention_days', `must be one of CloudWatch Logs' values (${RETENTION_DAYS.join(', ')}), not ${retention}`);
  return {
    stack: r.matching('stack', STACK_NAME, 'a CloudFormation stack name (a letter, then letters, digits and "-")'),
    rule: r.matching('rule', RULE_NAME, 'an EventBridge rule name (letters, digits, ".", "-", "_", at most 64)'),
    tags: tags(r),
    archive: functionDeploy(r, 'archive'),
    consolidate: functionDeploy(r, 'consolidate'),
    createBucket: r.optBool('create_bucket', false),
    createWorkgroup,
    athenaResults,
    logRetentionDays: retention,
  };
}

function athenaConfig(env: Reader): AthenaConfig | undefined {
  const a = env.sub('athena', false);
  if (a === undefined || !a.optBool('refresh', false)) return undefined;
  const name = (key: string, fallback?: string) =>
    a.has(key) || fallback === undefined ? a.matching(key, ATHENA_NAME, 'an Athena name (letters, digits, "_", "-")') : fallback;
  return {
    database: name('database'),
    workgroup: a.has('workgroup') ? a.matching('workgroup', WORKGROUP, 'an Athena workgroup name') : DEFAULT_WORKGROUP,
    view: name('view', DEFAULT_VIEW),
    table: name('table', DEFAULT_TABLE),
  };
}

function envConfig(name: string, table: Table): EnvConfig {
  const r = new Reader(name, '', table);
  const dates = r.sub('dates', true)!;
  const schedule = r.sub('schedule', true)!;
  const athena = athenaConfig(r);
  const outputPrefix = prefix(r, 'output_prefix');
  const bucket = r.matching('bucket', BUCKET, 'an S3 bucket name');
  const detailAt = (key: string) => {
    const place = r.has(key) ? s3Place(r, key, false) : undefined;
    if (place !== undefined && place.bucket === bucket && place.key.startsWith(outputPrefix)) {
      r.fail(key, `must not be under output_prefix (${outputPrefix}): the Athena table reads every file of that folder`);
    }
    return place;
  };
  const detail = detailAt('detail');
  const archiveDetail = detailAt('archive_detail');
  const largeMessageBucket = r.has('large_message_bucket')
    ? r.matching('large_message_bucket', BUCKET, 'an S3 bucket name (a local folder cannot be deployed)')
    : undefined;
  const priceBook = r.optString('price_book');
  if (priceBook !== undefined && priceBook !== 'catalog' && priceBook !== 'catalog-regional') {
    r.fail('price_book', `must be catalog or catalog-regional when deployed (the asset ships no other file), not ${JSON.stringify(priceBook)}`);
  }
  const day = (key: string) => dates.matching(key, DAY, 'a YYYY-MM-DD day');
  return {
    name,
    oldTable: r.string('old_table', 'the legacy DynamoDB table'),
    newTable: r.string('new_table', 'the current DynamoDB table'),
    bucket,
    outputPrefix,
    historicalPrefix: prefix(r, 'historical_prefix'),
    dates: { archivalStart: day('archival_start'), archivalEnd: day('archival_end'), consolidatedStart: day('consolidated_start') },
    athena,
    schedule: { enabled: schedule.bool('enabled'), cron: schedule.matching('cron', SCHEDULE, 'an EventBridge schedule, cron(...) or rate(...)') },
    sse: sse(r),
    detail,
    archiveDetail,
    largeMessageBucket,
    deploy: deploy(r.sub('deploy', true)!, r, athena, name),
  };
}

/** The environments of a parsed tally.toml that have a `deploy` table, in file order. */
export function fromToml(doc: Record<string, unknown>): EnvConfig[] {
  const envs = doc.env;
  if (!isTable(envs)) throw new ConfigError('tally.toml: no [env.NAME] table');
  const out: EnvConfig[] = [];
  for (const [name, table] of Object.entries(envs)) {
    if (!isTable(table)) throw new ConfigError(`tally.toml: env.${name} must be a table, not ${typeName(table)}`);
    if (table.deploy === undefined) continue;
    out.push(envConfig(name, table));
  }
  if (out.length === 0) throw new ConfigError('tally.toml: no environment has a [env.NAME.deploy] table');
  const stacks = new Set<string>();
  for (const e of out) {
    if (stacks.has(e.deploy.stack)) throw new ConfigError(`tally.toml, environment ${JSON.stringify(e.name)}: deploy.stack ${JSON.stringify(e.deploy.stack)} is another environment's too`);
    stacks.add(e.deploy.stack);
  }
  return out;
}

/** Parses TOML text (`source` names it in a syntax error). */
export function parseToml(text: string, source: string): Record<string, unknown> {
  try {
    return parse(text);
  } catch (e) {
    throw new ConfigError(`${source}: ${e instanceof Error ? e.message : String(e)}`);
  }
}

/** Reads and checks the file at `path`. */
export function loadConfig(path: string): EnvConfig[] {
  let text: string;
  try {
    text = fs.readFileSync(path, 'utf8');
  } catch (e) {
    throw new ConfigError(`cannot read ${path}: ${e instanceof Error ? e.message : String(e)}`);
  }
  return fromToml(parseToml(text, path));
}
