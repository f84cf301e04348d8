// lib/config.ts over the real tally.toml and over broken copies of it: each
// mistake is refused with a message naming the environment and the key.

import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { describe, it } from 'node:test';

import { ConfigError, loadConfig } from '../lib/config';
import { editedEnv, TALLY_TOML } from '../testing/support';

/** Asserts that `edit` makes environment `env` fail with a message matching `message`. */
function refused(env: string, edit: (e: Record<string, any>) => void, message: RegExp): void {
  assert.throws(
    () => editedEnv(env, edit),
    (e: unknown) => {
      assert.ok(e instanceof ConfigError, `a ConfigError, not ${e}`);
      assert.match(e.message, message);
      return true;
    },
  );
}

describe('tally.toml as deployed', () => {
  it('reads the prod environment whole', () => {
    const prod = loadConfig(TALLY_TOML).find((e) => e.name === 'prod');
    assert.deepEqual(prod, {
      name: 'prod',
      oldTable: 'BedrockChatStack-Old',
      newTable: 'BedrockChatStack-New',
      bucket: 'cat-prod-normalize-reports',
      outputPrefix: 'tokens-analysis/',
      historicalPrefix: 'archives/tokens-analysis/',
      dates: { archivalStart: '2025-08-04', archivalEnd: '2025-12-31', consolidatedStart: '2025-12-01' },
      athena: {
        database: 'cat_prod_analytics_db',
        workgroup: 'wg-cat-prod-analytics',
        view: 'cat_prod_token_usage_analysis',
        table: 'tokens_table_consolidated',
      },
      schedule: { enabled: true, cron: 'cron(30 4 * * ? *)' },
      sse: { mode: 'none' },
      detail: undefined,
      archiveDetail: undefined,
      largeMessageBucket: undefined,
      deploy: {
        stack: 'cat-prod-tokens-stack',
        rule: 'prod-cat-daily-tokens-schedule',
        tags: { Project: 'CAT-TOKENS-ANALYSIS', Environment: 'prod' },
        archive: { name: 'cat-prod-lambda-tokens-archival', memoryMb: 2048, timeoutS: 900, dataSource: 'DynamoDB-Old' },
        consolidate: { name: 'cat-prod-lambda-tokens-consolidated', memoryMb: 512, timeoutS: 300, dataSource: 'DynamoDB-New' },
        createBucket: false,
        createWorkgroup: false,
        athenaResults: undefined,
        logRetentionDays: 90,
      },
    });
  });

  it('adds the missing "/" of a prefix', () => {
    const env = editedEnv('test', (e) => (e.output_prefix = 'reports/tokens'));
    assert.equal(env.outputPrefix, 'reports/tokens/');
  });

  it('takes the runner defaults for a workgroup, view and table left out', () => {
    const env = editedEnv('test', (e) => {
      delete e.athena.workgroup;
      delete e.athena.view;
      delete e.athena.table;
    });
    assert.deepEqual(env.athena, { database: 'cat_test_analytics_db', workgroup: 'primary', view: 'token_usage_analysis', table: 'tokens_table_consolidated' });
  });
});

describe('a broken tally.toml', () => {
  it('names the environment and a missing key', () => {
    refused('prod', (e) => delete e.deploy.archive.memory_mb, /^tally\.toml, environment "prod": deploy\.archive\.memory_mb is missing \(an integer from 128 to 10240 \(MB\)\)$/);
    refused('test', (e) => delete e.bucket, /environment "test": bucket is missing/);
    refused('test', (e) => delete e.dates.archival_end, /environment "test": dates\.archival_end is missing/);
    refused('prod', (e) => delete e.deploy.consolidate, /environment "prod": deploy\.consolidate is missing \(a table\)/);
    refused('prod', (e) => delete e.schedule.enabled, /environment "prod": schedule\.enabled is missing \(true or false\)/);
    refused('prod', (e) => delete e.athena.database, /environment "prod": athena\.database is missing/);
  });

  it('names the environment, the key and the wrong type', () => {
    refused('prod', (e) => (e.deploy.archive.memory_mb = '2048'), /environment "prod": deploy\.archive\.memory_mb must be an integer from 128 to 10240 \(MB\), not the string "2048"/);
    refused('test', (e) => (e.schedule.enabled = 'false'), /environment "test": schedule\.enabled must be true or false, not the string "false"/);
    refused('test', (e) => (e.deploy.tags = 'CAT'), /environment "test": deploy\.tags must be a table, not the string "CAT"/);
    refused('test', (e) => (e.deploy.tags.Environment = 1), /environment "test": deploy\.tags\.Environment must be a string \(the tag value\), not the number 1/);
    refused('prod', (e) => (e.deploy.consolidate.timeout_s = 901), /deploy\.consolidate\.timeout_s must be an integer from 1 to 900 \(seconds\), not 901/);
    refused('prod', (e) => (e.deploy.create_bucket = 'yes'), /environment "prod": deploy\.create_bucket must be true or false/);
  });

  it('refuses values the stack cannot deploy', () => {
    refused('test', (e) => (e.dates.archival_start = '2025-8-4'), /dates\.archival_start must be a YYYY-MM-DD day, not "2025-8-4"/);
    refused('test', (e) => (e.schedule.cron = '30 4 * * ? *'), /schedule\.cron must be an EventBridge schedule/);
    refused('test', (e) => (e.output_prefix = ''), /environment "test": output_prefix is empty/);
    refused('test', (e) => (e.historical_prefix = 'archives/*'), /historical_prefix must not hold "\*"/);
    refused('test', (e) => (e.bucket = 'Cat_Reports'), /bucket must be an S3 bucket name/);
    refused('test', (e) => (e.deploy.archive.name = 'a'.repeat(65)), /deploy\.archive\.name must be a Lambda function name/);
    refused('test', (e) => (e.deploy.log_retention_days = 10), /deploy\.log_retention_days must be one of CloudWatch Logs' values/);
    refused('test', (e) => (e.deploy.tags.ETLComponent = 'X'), /deploy\.tags\.ETLComponent is set by the stack/);
    refused('test', (e) => (e.sse = 'aws:kms:not-a-key'), /sse must name a KMS key by its id/);
    refused('test', (e) => (e.sse = 'SSE-C'), /sse must be none, AES256, aws:kms or aws:kms:KEY-ID/);
    refused('test', (e) => (e.detail = '/tmp/detail.csv'), /detail must be an S3 object "s3:\/\/BUCKET\/KEY"/);
    refused('test', (e) => (e.detail = 's3://cat-test-normalize-reports/tokens-analysis/detail.csv'), /detail must not be under output_prefix/);
    refused('test', (e) => (e.archive_detail = 's3://cat-test-normalize-reports/tokens-analysis/old.csv'), /archive_detail must not be under output_prefix/);
    refused('test', (e) => (e.large_message_bucket = './large_messages'), /large_message_bucket must be an S3 bucket name/);
    refused('test', (e) => (e.price_book = 'book.json'), /price_book must be catalog or catalog-regional when deployed/);
  });

  it('refuses Athena settings without a view refresh, and the primary workgroup', () => {
    refused('test', (e) => ((e.athena.refresh = false), (e.deploy.create_workgroup = true)), /deploy\.create_workgroup needs athena\.refresh = true/);
    refused('test', (e) => ((e.athena.refresh = false), (e.deploy.athena_results = 's3://b-results/x/')), /deploy\.athena_results needs athena\.refresh = true/);
    refused('test', (e) => ((e.athena.workgroup = 'primary'), (e.deploy.create_workgroup = true)), /cannot create the workgroup "primary"/);
    refused('test', (e) => (e.deploy.athena_results = 'results/'), /deploy\.athena_results must be an S3 folder/);
    refused('test', (e) => (e.deploy.athena_results = 's3://cat-test-normalize-reports/tokens-analysis/athena/'), /deploy\.athena_results must not be under output_prefix/);
  });

  it('refuses an unknown deploy key (a typo would be ignored)', () => {
    refused('prod', (e) => (e.deploy.create_buckets = true), /environment "prod": deploy\.create_buckets is not a known key \(known: stack, rule, tags/);
    refused('prod', (e) => (e.deploy.archive.memory = 1024), /deploy\.archive\.memory is not a known key/);
  });

  it('refuses two environments deploying the same stack', () => {
    assert.throws(() => {
      editedEnv('prod', (e) => (e.deploy.stack = 'cat-test-tokens-stack'));
    }, /environment "prod": deploy\.stack "cat-test-tokens-stack" is another environment's too/);
  });

  it('says which file it could not read or parse', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tally-deploy-config-'));
    try {
      const bad = path.join(dir, 'tally.toml');
      fs.writeFileSync(bad, '[env.test\nbucket = 1\n');
      assert.throws(() => loadConfig(bad), (e: unknown) => e instanceof ConfigError && e.message.startsWith(`${bad}: `));
      assert.throws(() => loadConfig(path.join(dir, 'none.toml')), /cannot read .*none\.toml/);
      fs.writeFileSync(bad, '[env.test]\nbucket = "b"\n');
      assert.throws(() => loadConfig(bad), /no environment has a \[env\.NAME\.deploy\] table/);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
