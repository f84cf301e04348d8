// The daily schedule: the rule (enabled in prod only), its target's retries
// and dead-letter queue, the function's asynchronous retries and on-failure
// destination, the queue itself; the archival function has none.

import * as assert from 'node:assert/strict';
import { describe, it } from 'node:test';

import { build, envsOf, realToml, resolve, resource, tagMap } from '../testing/support';

const EXPECTED = {
  test: { rule: 'test-cat-daily-tokens-schedule', state: 'DISABLED', queue: 'cat-test-lambda-tokens-consolidated-dlq' },
  prod: { rule: 'prod-cat-daily-tokens-schedule', state: 'ENABLED', queue: 'cat-prod-lambda-tokens-consolidated-dlq' },
};

for (const [name, want] of Object.entries(EXPECTED)) {
  describe(`the schedule of ${name}`, () => {
    const { template } = build(envsOf(realToml())[name]);
    const fn = resource(template, 'AWS::Lambda::Function', 'Consolidate/Function/Resource').id;
    const queue = resource(template, 'AWS::SQS::Queue', 'Consolidate/DeadLetters/Resource');

    it(`is one rule, ${want.state}, at cron(30 4 * * ? *), targeting the consolidation with retries and the queue`, () => {
      template.resourceCountIs('AWS::Events::Rule', 1);
      const rule = resource(template, 'AWS::Events::Rule', 'Consolidate/Schedule/Resource');
      const p = resolve(rule.body.Properties);
      assert.equal(p.Name, want.rule);
      assert.equal(p.State, want.state);
      assert.equal(p.ScheduleExpression, 'cron(30 4 * * ? *)');
      assert.equal(p.EventPattern, undefined);
      assert.deepEqual(p.Targets, [
        {
          Id: 'Target0',
          Arn: `\${${fn}.Arn}`,
          RetryPolicy: { MaximumRetryAttempts: 2, MaximumEventAgeInSeconds: 7200 },
          DeadLetterConfig: { Arn: `\${${queue.id}.Arn}` },
        },
      ]);
    });

    it('retries a failed run twice (Lambda, asynchronous invocation), then sends it to the queue', () => {
      const configs = Object.values(template.findResources('AWS::Lambda::EventInvokeConfig')).map((c) => resolve(c.Properties));
      const archive = resource(template, 'AWS::Lambda::Function', 'Archive/Function/Resource').id;
      assert.deepEqual(
        configs.sort((a, b) => a.FunctionName.localeCompare(b.FunctionName)),
        [
          // The one-time archival is never retried behind the operator's back.
          { FunctionName: `\${${archive}}`, Qualifier: '$LATEST', MaximumRetryAttempts: 0 },
          {
            FunctionName: `\${${fn}}`,
            Qualifier: '$LATEST',
            MaximumRetryAttempts: 2,
            MaximumEventAgeInSeconds: 7200,
            DestinationConfig: { OnFailure: { Destination: `\${${queue.id}.Arn}` } },
          },
        ].sort((a, b) => a.FunctionName.localeCompare(b.FunctionName)),
      );
    });

    it('keeps failed events 14 days in an encrypted queue', () => {
      template.resourceCountIs('AWS::SQS::Queue', 1);
      const p = queue.body.Properties;
      assert.equal(p.QueueName, want.queue);
      assert.equal(p.SqsManagedSseEnabled, true);
      assert.equal(p.MessageRetentionPeriod, 14 * 24 * 3600);
      assert.equal(tagMap(p.Tags).ETLComponent, 'TOKENS-CONSOLIDATED');
    });

    it('lets only the rule send to the queue, and only over TLS', () => {
      const policy = resolve(resource(template, 'AWS::SQS::QueuePolicy', 'Consolidate/DeadLetters/Policy/Resource').body.Properties);
      const rule = resource(template, 'AWS::Events::Rule', 'Consolidate/Schedule/Resource').id;
      const statements = policy.PolicyDocument.Statement.map(({ Sid: _sid, ...s }: any) => s);
      assert.deepEqual(statements, [
        {
          Action: 'sqs:*',
          Condition: { Bool: { 'aws:SecureTransport': 'false' } },
          Effect: 'Deny',
          Principal: { AWS: '*' },
          Resource: `\${${queue.id}.Arn}`,
        },
        {
          Action: 'sqs:SendMessage',
          Condition: { ArnEquals: { 'aws:SourceArn': `\${${rule}.Arn}` } },
          Effect: 'Allow',
          Principal: { Service: 'events.amazonaws.com' },
          Resource: `\${${queue.id}.Arn}`,
        },
      ]);
    });
  });
}

describe('schedule.enabled', () => {
  it('decides the rule state alone', () => {
    const doc = realToml();
    doc.env.test.schedule.enabled = true;
    doc.env.prod.schedule.enabled = false;
    doc.env.prod.schedule.cron = 'cron(0 6 ? * MON-FRI *)';
    const envs = envsOf(doc);
    const state = (env: string) => resource(build(envs[env]).template, 'AWS::Events::Rule', 'Schedule/Resource').body.Properties;
    assert.equal(state('test').State, 'ENABLED');
    assert.equal(state('prod').State, 'DISABLED');
    assert.equal(state('prod').ScheduleExpression, 'cron(0 6 ? * MON-FRI *)');
  });
});
