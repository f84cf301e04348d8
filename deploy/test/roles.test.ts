// Each function's role, whole: the exact statements (actions, resources,
// conditions), nothing from a managed policy, no `*` resource; the KMS,
// Athena-results and detail grants that only some configurations add.

import * as assert from 'node:assert/strict';
import { describe, it } from 'node:test';

import { Template } from 'aws-cdk-lib/assertions';

import { ConfigError } from '../lib/config';
import { A, build, editedEnv, envsOf, normalPolicy, P, R, realToml, resolve, resource } from '../testing/support';

/** The names a role's grants are made of, written out per environment. */
interface Names {
  archive: string;
  consolidate: string;
  oldTable: string;
  newTable: string;
  bucket: string;
  database: string;
  workgroup: string;
  view: string;
}

const NAMES: Record<string, Names> = {
  test: {
    archive: 'cat-test-lambda-tokens-archival',
    consolidate: 'cat-test-lambda-tokens-consolidated',
    oldTable: 'old-test-table',
    newTable: 'new-test-table',
    bucket: 'cat-test-normalize-reports',
    database: 'cat_test_analytics_db',
    workgroup: 'wg-cat-test-analytics',
    view: 'cat_test_token_usage_analysis',
  },
  prod: {
    archive: 'cat-prod-lambda-tokens-archival',
    consolidate: 'cat-prod-lambda-tokens-consolidated',
    oldTable: 'BedrockChatStack-Old',
    newTable: 'BedrockChatStack-New',
    bucket: 'cat-prod-normalize-reports',
    database: 'cat_prod_analytics_db',
    workgroup: 'wg-cat-prod-analytics',
    view: 'cat_prod_token_usage_analysis',
  },
};

const doc = (...statements: object[]) => normalPolicy({ Version: '2012-10-17', Statement: statements });
const allow = (Sid: string, Action: string[], Resource: string[], Condition?: object) =>
  Condition === undefined ? { Sid, Effect: 'Allow', Action, Resource } : { Sid, Effect: 'Allow', Action, Resource, Condition };

function archivePolicy(n: Names): object[] {
  return [
    allow('WriteOwnLogs', ['logs:CreateLogStream', 'logs:PutLogEvents'], [
      `arn:${P}:logs:${R}:${A}:log-group:/aws/lambda/${n.archive}:*`,
    ]),
    allow('ScanTable', ['dynamodb:Scan'], [`arn:${P}:dynamodb:${R}:${A}:table/${n.oldTable}`]),
    allow('WriteOutputs', ['s3:PutObject', 's3:AbortMultipartUpload'], [`arn:${P}:s3:::${n.bucket}/archives/tokens-analysis/*`]),
  ];
}

function consolidatePolicy(n: Names, queue: string): object[] {
  return [
    allow('WriteOwnLogs', ['logs:CreateLogStream', 'logs:PutLogEvents'], [
      `arn:${P}:logs:${R}:${A}:log-group:/aws/lambda/${n.consolidate}:*`,
    ]),
    allow('ScanTable', ['dynamodb:Scan'], [`arn:${P}:dynamodb:${R}:${A}:table/${n.newTable}`]),
    allow('ReadInputs', ['s3:GetObject'], [
      `arn:${P}:s3:::${n.bucket}/archives/tokens-analysis/*`,
      `arn:${P}:s3:::${n.bucket}/tokens-analysis/*`,
    ]),
    allow('ListInputBucket', ['s3:ListBucket'], [`arn:${P}:s3:::${n.bucket}`]),
    allow('WriteOutputs', ['s3:PutObject', 's3:AbortMultipartUpload'], [`arn:${P}:s3:::${n.bucket}/tokens-analysis/*`]),
    allow('RunViewQueries', ['athena:StartQueryExecution', 'athena:GetQueryExecution'], [
      `arn:${P}:athena:${R}:${A}:workgroup/${n.workgroup}`,
    ]),
    allow('CatalogTableAndView', ['glue:GetDatabase', 'glue:GetTable', 'glue:CreateTable', 'glue:UpdateTable'], [
      `arn:${P}:glue:${R}:${A}:catalog`,
      `arn:${P}:glue:${R}:${A}:database/${n.database}`,
      `arn:${P}:glue:${R}:${A}:table/${n.database}/tokens_table_consolidated`,
      `arn:${P}:glue:${R}:${A}:table/${n.database}/${n.view}`,
    ]),
    allow('SendFailedEvents', ['sqs:SendMessage'], [queue]),
  ];
}

/** The role of a function (by its scope) and its one inline policy, normalised. */
function role(template: Template, scope: 'Archive' | 'Consolidate') {
  const { id, body } = resource(template, 'AWS::IAM::Role', `${scope}/Role/Resource`);
  const policies = body.Properties.Policies as { PolicyName: string; PolicyDocument: unknown }[];
  assert.equal(policies.length, 1, `${scope}: one inline policy`);
  return { id, body, policy: normalPolicy(policies[0].PolicyDocument) };
}

function queueArn(template: Template): string {
  return `\${${resource(template, 'AWS::SQS::Queue', 'Consolidate/DeadLetters/Resource').id}.Arn}`;
}

for (const [name, n] of Object.entries(NAMES)) {
  describe(`the roles of ${name}`, () => {
    const { template } = build(envsOf(realToml())[name]);

    it('archive may write its logs, scan the old table and write the history, nothing else', () => {
      assert.deepEqual(role(template, 'Archive').policy, doc(...archivePolicy(n)));
    });

    it('consolidate may read the history and its output, write its output, refresh the view, send to its queue', () => {
      assert.deepEqual(role(template, 'Consolidate').policy, doc(...consolidatePolicy(n, queueArn(template))));
    });

    it('are assumed by Lambda only, with no managed policy and no other policy resource', () => {
      for (const scope of ['Archive', 'Consolidate'] as const) {
        const { body } = role(template, scope);
        assert.deepEqual(body.Properties.AssumeRolePolicyDocument, {
          Version: '2012-10-17',
          Statement: [{ Action: 'sts:AssumeRole', Effect: 'Allow', Principal: { Service: 'lambda.amazonaws.com' } }],
        });
        assert.equal(body.Properties.ManagedPolicyArns, undefined);
      }
      template.resourceCountIs('AWS::IAM::Role', 2);
      template.resourceCountIs('AWS::IAM::Policy', 0);
      template.resourceCountIs('AWS::IAM::ManagedPolicy', 0);
    });

    it('name every resource (no "*", no wildcard action)', () => {
      for (const scope of ['Archive', 'Consolidate'] as const) {
        for (const s of role(template, scope).policy.Statement) {
          assert.equal(s.NotResource, undefined);
          assert.equal(s.NotAction, undefined);
          for (const r of s.Resource) {
            assert.notEqual(r, '*', `${scope} ${s.Sid}`);
            assert.doesNotMatch(r, /^arn:[^:]+:[^:]+:[^:]*:[^:]*:\*$/, `${scope} ${s.Sid}: a service-wide ARN`);
          }
          for (const a of s.Action) assert.doesNotMatch(a, /\*/, `${scope} ${s.Sid}`);
        }
      }
    });

    it('grant no KMS key (sse is none)', () => {
      for (const scope of ['Archive', 'Consolidate'] as const) {
        const kms = role(template, scope).policy.Statement.filter((s: any) => s.Action.some((a: string) => a.startsWith('kms:')));
        assert.deepEqual(kms, []);
      }
    });

    it('let EventBridge alone invoke the consolidation, from its rule', () => {
      const perms = Object.values(template.findResources('AWS::Lambda::Permission')).map((p) => resolve(p.Properties));
      const fn = resource(template, 'AWS::Lambda::Function', 'Consolidate/Function/Resource').id;
      const rule = resource(template, 'AWS::Events::Rule', 'Consolidate/Schedule/Resource').id;
      assert.deepEqual(perms, [
        { Action: 'lambda:InvokeFunction', FunctionName: `\${${fn}.Arn}`, Principal: 'events.amazonaws.com', SourceArn: `\${${rule}.Arn}` },
      ]);
    });
  });
}

const KEY_ID = '1234abcd-12ab-34cd-56ef-1234567890ab';
const kmsStatement = (key: string) => allow('UseOutputKey', ['kms:GenerateDataKey', 'kms:Decrypt'], [key]);

describe('sse', () => {
  it('aws:kms:<key id> grants that key, built into an ARN, to both roles', () => {
    const env = editedEnv('prod', (e) => (e.sse = `aws:kms:${KEY_ID}`));
    const { template } = build(env);
    const key = `arn:${P}:kms:${R}:${A}:key/${KEY_ID}`;
    assert.deepEqual(role(template, 'Archive').policy, doc(...archivePolicy(NAMES.prod), kmsStatement(key)));
    assert.deepEqual(
      role(template, 'Consolidate').policy,
      doc(...consolidatePolicy(NAMES.prod, queueArn(template)), kmsStatement(key)),
    );
  });

  it('aws:kms:<key ARN> grants that ARN as given', () => {
    const arn = `arn:aws:kms:eu-west-1:111122223333:key/${KEY_ID}`;
    const { template } = build(editedEnv('test', (e) => (e.sse = `aws:kms:${arn}`)));
    assert.deepEqual(role(template, 'Archive').policy, doc(...archivePolicy(NAMES.test), kmsStatement(arn)));
  });

  for (const mode of ['none', 'AES256', 'aws:kms']) {
    it(`${mode} grants no key`, () => {
      const { template } = build(editedEnv('test', (e) => (e.sse = mode)));
      assert.deepEqual(role(template, 'Archive').policy, doc(...archivePolicy(NAMES.test)));
      assert.deepEqual(role(template, 'Consolidate').policy, doc(...consolidatePolicy(NAMES.test, queueArn(template))));
    });
  }

  it('refuses an alias, which IAM cannot grant', () => {
    for (const alias of ['aws:kms:alias/reports', 'aws:kms:arn:aws:kms:eu-west-1:111122223333:alias/reports']) {
      assert.throws(
        () => editedEnv('prod', (e) => (e.sse = alias)),
        (e: unknown) => e instanceof ConfigError && /environment "prod": sse names a KMS alias/.test(e.message),
      );
    }
  });
});

describe('the Athena results location', () => {
  const results = (bucket: string, prefix: string) => [
    allow('WriteQueryResults', ['s3:GetObject', 's3:PutObject', 's3:AbortMultipartUpload'], [`arn:${P}:s3:::${bucket}/${prefix}*`]),
    allow('LocateResultsBucket', ['s3:GetBucketLocation'], [`arn:${P}:s3:::${bucket}`]),
  ];

  it('deploy.athena_results grants that folder to the consolidation only', () => {
    const { template } = build(editedEnv('prod', (e) => (e.deploy.athena_results = 's3://query-results-bucket/tally/prod')));
    assert.deepEqual(
      role(template, 'Consolidate').policy,
      doc(...consolidatePolicy(NAMES.prod, queueArn(template)), ...results('query-results-bucket', 'tally/prod/')),
    );
    assert.deepEqual(role(template, 'Archive').policy, doc(...archivePolicy(NAMES.prod)));
    template.resourceCountIs('AWS::Athena::WorkGroup', 0);
  });

  it('deploy.create_workgroup makes the workgroup, its results under athena-results/<env>/, and grants them', () => {
    const { template } = build(editedEnv('test', (e) => (e.deploy.create_workgroup = true)));
    const wg = resource(template, 'AWS::Athena::WorkGroup', 'Consolidate/Workgroup');
    assert.deepEqual(wg.body.Properties.WorkGroupConfiguration, {
      EnforceWorkGroupConfiguration: true,
      PublishCloudWatchMetricsEnabled: true,
      ResultConfiguration: {
        OutputLocation: 's3://cat-test-normalize-reports/athena-results/test/',
        EncryptionConfiguration: { EncryptionOption: 'SSE_S3' },
      },
    });
    assert.equal(wg.body.Properties.Name, 'wg-cat-test-analytics');
    assert.equal(wg.body.Properties.State, 'ENABLED');
    assert.deepEqual(
      role(template, 'Consolidate').policy,
      doc(...consolidatePolicy(NAMES.test, queueArn(template)), ...results('cat-test-normalize-reports', 'athena-results/test/')),
    );
  });

  it('without a view refresh, the consolidation has no Athena or Glue grant', () => {
    const { template } = build(editedEnv('prod', (e) => (e.athena.refresh = false)));
    const sids = role(template, 'Consolidate').policy.Statement.map((s: any) => s.Sid);
    assert.deepEqual(sids, ['ListInputBucket', 'ReadInputs', 'ScanTable', 'SendFailedEvents', 'WriteOutputs', 'WriteOwnLogs']);
  });
});

describe('the detail CSVs', () => {
  it('are each job its own object to write', () => {
    const daily = 's3://cat-prod-normalize-reports/tokens-detail/daily.csv';
    const archival = 's3://cat-prod-normalize-reports/tokens-detail/archival.csv';
    const { template } = build(editedEnv('prod', (e) => ((e.detail = daily), (e.archive_detail = archival))));
    for (const [scope, own, file] of [
      ['Archive', 'archives/tokens-analysis/*', 'archival.csv'],
      ['Consolidate', 'tokens-analysis/*', 'daily.csv'],
    ] as const) {
      const write = role(template, scope).policy.Statement.find((s: any) => s.Sid === 'WriteOutputs');
      const detail = `arn:${P}:s3:::cat-prod-normalize-reports/tokens-detail/${file}`;
      assert.deepEqual(write.Resource, [`arn:${P}:s3:::cat-prod-normalize-reports/${own}`, detail].sort());
    }
  });
});

describe("bedrock-chat's large messages", () => {
  it('may be read by both functions, from that bucket only', () => {
    const { template } = build(editedEnv('test', (e) => (e.large_message_bucket = 'bedrockchatstack-largemessagebucket-x1')));
    for (const scope of ['Archive', 'Consolidate'] as const) {
      const read = role(template, scope).policy.Statement.find((s: any) => s.Sid === 'ReadLargeMessages');
      assert.deepEqual(read, {
        Sid: 'ReadLargeMessages',
        Effect: 'Allow',
        Action: ['s3:GetObject'],
        Resource: [`arn:${P}:s3:::bedrockchatstack-largemessagebucket-x1/*`],
      });
    }
    const { template: plain } = build(editedEnv('test', () => {}));
    assert.equal(role(plain, 'Archive').policy.Statement.find((s: any) => s.Sid === 'ReadLargeMessages'), undefined);
  });
});
