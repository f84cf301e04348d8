// The two functions of each environment of the real tally.toml: what they
// run, with which settings and variables, and their tags.

import * as assert from 'node:assert/strict';
import { describe, it } from 'node:test';

import { build, envsOf, realToml, resource, tagMap } from '../testing/support';

interface Expected {
  archive: { name: string; memory: number; timeout: number; vars: Record<string, string> };
  consolidate: { name: string; memory: number; timeout: number; vars: Record<string, string> };
  tags: Record<string, string>;
}

const EXPECTED: Record<string, Expected> = {
  test: {
    archive: {
      name: 'cat-test-lambda-tokens-archival',
      memory: 1024,
      timeout: 900,
      vars: {
        TALLY_JOB: 'archive',
        TALLY_ENV: 'test',
        OLD_DYNAMODB_TABLE_NAME: 'old-test-table',
        S3_BUCKET_NAME: 'cat-test-normalize-reports',
        S3_OLD_DATA_PREFIX: 'archives/tokens-analysis/',
        S3_OUTPUT_PREFIX: 'tokens-analysis/',
        FILTER_DATE_START: '2025-08-04',
        FILTER_DATE_END: '2025-12-31',
      },
    },
    consolidate: {
      name: 'cat-test-lambda-tokens-consolidated',
      memory: 512,
      timeout: 300,
      vars: {
        TALLY_JOB: 'consolidate',
        TALLY_ENV: 'test',
        DYNAMODB_TABLE_NAME: 'new-test-table',
        S3_BUCKET_NAME: 'cat-test-normalize-reports',
        S3_OUTPUT_PREFIX: 'tokens-analysis/',
        S3_OLD_DATA_PREFIX: 'archives/tokens-analysis/',
        FILTER_DATE_START: '2025-12-01',
        ATHENA_DATABASE: 'cat_test_analytics_db',
        ATHENA_WORKGROUP: 'wg-cat-test-analytics',
        ATHENA_VIEW_NAME: 'cat_test_token_usage_analysis',
      },
    },
    tags: { Project: 'CAT-TOKENS-ANALYSIS', Environment: 'test' },
  },
  prod: {
    archive: {
      name: 'cat-prod-lambda-tokens-archival',
      memory: 2048,
      timeout: 900,
      vars: {
        TALLY_JOB: 'archive',
        TALLY_ENV: 'prod',
        OLD_DYNAMODB_TABLE_NAME: 'BedrockChatStack-Old',
        S3_BUCKET_NAME: 'cat-prod-normalize-reports',
        S3_OLD_DATA_PREFIX: 'archives/tokens-analysis/',
        S3_OUTPUT_PREFIX: 'tokens-analysis/',
        FILTER_DATE_START: '2025-08-04',
        FILTER_DATE_END: '2025-12-31',
      },
    },
    consolidate: {
      name: 'cat-prod-lambda-tokens-consolidated',
      memory: 512,
      timeout: 300,
      vars: {
        TALLY_JOB: 'consolidate',
        TALLY_ENV: 'prod',
        DYNAMODB_TABLE_NAME: 'BedrockChatStack-New',
        S3_BUCKET_NAME: 'cat-prod-normalize-reports',
        S3_OUTPUT_PREFIX: 'tokens-analysis/',
        S3_OLD_DATA_PREFIX: 'archives/tokens-analysis/',
        FILTER_DATE_START: '2025-12-01',
        ATHENA_DATABASE: 'cat_prod_analytics_db',
        ATHENA_WORKGROUP: 'wg-cat-prod-analytics',
        ATHENA_VIEW_NAME: 'cat_prod_token_usage_analysis',
      },
    },
    tags: { Project: 'CAT-TOKENS-ANALYSIS', Environment: 'prod' },
  },
};

const COMPONENT = { archive: 'TOKENS-ARCHIVAL', consolidate: 'TOKENS-CONSOLIDATED' } as const;
const SOURCE = { archive: 'DynamoDB-Old', consolidate: 'DynamoDB-New' } as const;
const SCOPE = { archive: 'Archive', consolidate: 'Consolidate' } as const;

describe('the stacks of tally.toml', () => {
  it('are one per environment with a deploy table, named by it', () => {
    const envs = envsOf(realToml());
    assert.deepEqual(Object.keys(envs), ['test', 'prod']);
    assert.equal(envs.test.deploy.stack, 'cat-test-tokens-stack');
    assert.equal(envs.prod.deploy.stack, 'cat-prod-tokens-stack');
    assert.equal(build(envs.prod).stack.stackName, 'cat-prod-tokens-stack');
  });

  it('leave out an environment without a deploy table', () => {
    const doc = realToml();
    delete doc.env.test.deploy;
    assert.deepEqual(Object.keys(envsOf(doc)), ['prod']);
  });
});

for (const [name, want] of Object.entries(EXPECTED)) {
  describe(`environment ${name}`, () => {
    const env = envsOf(realToml())[name];
    const { template } = build(env);

    it('has exactly two functions, one asset', () => {
      const fns = Object.values(template.findResources('AWS::Lambda::Function'));
      assert.equal(fns.length, 2);
      assert.deepEqual(fns[0].Properties.Code, fns[1].Properties.Code);
    });

    for (const job of ['archive', 'consolidate'] as const) {
      it(`runs ${job} as tally lambda on provided.al2023`, () => {
        const { body } = resource(template, 'AWS::Lambda::Function', `${SCOPE[job]}/Function/Resource`);
        const p = body.Properties;
        assert.equal(p.FunctionName, want[job].name);
        assert.equal(p.Runtime, 'provided.al2023');
        assert.deepEqual(p.Architectures, ['x86_64']);
        assert.equal(p.Handler, 'bootstrap');
        assert.equal(p.MemorySize, want[job].memory);
        assert.equal(p.Timeout, want[job].timeout);
        assert.deepEqual(p.Environment, { Variables: want[job].vars });
        assert.equal(body.DependsOn, undefined, 'the Role GetAtt orders it already (cfn-lint W3005)');
      });

      it(`tags the ${job} function, its role, its log group`, () => {
        const tags = { ...want.tags, ETLComponent: COMPONENT[job], DataSource: SOURCE[job] };
        for (const [type, suffix] of [
          ['AWS::Lambda::Function', 'Function/Resource'],
          ['AWS::IAM::Role', 'Role/Resource'],
          ['AWS::Logs::LogGroup', 'Logs/Resource'],
        ]) {
          const { body } = resource(template, type, `${SCOPE[job]}/${suffix}`);
          assert.deepEqual(tagMap(body.Properties.Tags), tags, `${type} of ${job}`);
        }
      });

      it(`gives ${job} its own log group, kept 90 days and on deletion`, () => {
        const logs = resource(template, 'AWS::Logs::LogGroup', `${SCOPE[job]}/Logs/Resource`);
        assert.equal(logs.body.Properties.LogGroupName, `/aws/lambda/${want[job].name}`);
        assert.equal(logs.body.Properties.RetentionInDays, 90);
        assert.equal(logs.body.DeletionPolicy, 'Retain');
        const fn = resource(template, 'AWS::Lambda::Function', `${SCOPE[job]}/Function/Resource`);
        assert.deepEqual(fn.body.Properties.LoggingConfig, { LogGroup: { Ref: logs.id } });
      });
    }

    it('makes no bucket and no workgroup unless asked', () => {
      template.resourceCountIs('AWS::S3::Bucket', 0);
      template.resourceCountIs('AWS::Athena::WorkGroup', 0);
    });
  });
}

describe('a consolidation without a view refresh', () => {
  it('has no Athena variables', () => {
    const doc = realToml();
    doc.env.prod.athena.refresh = false;
    const { template } = build(envsOf(doc).prod);
    const fn = resource(template, 'AWS::Lambda::Function', 'Consolidate/Function/Resource');
    assert.deepEqual(Object.keys(fn.body.Properties.Environment.Variables).filter((k) => k.startsWith('ATHENA_')), []);
  });
});
