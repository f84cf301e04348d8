// deploy.create_bucket: the stack makes the reports bucket (private,
// encrypted, TLS only, incomplete uploads aborted, kept on deletion).

import * as assert from 'node:assert/strict';
import { describe, it } from 'node:test';

import { build, editedEnv, resolve, resource, tagMap } from '../testing/support';

describe('deploy.create_bucket = true', () => {
  const { template } = build(editedEnv('test', (e) => (e.deploy.create_bucket = true)));

  it('makes the bucket tally.toml names, private and encrypted, kept on deletion', () => {
    template.resourceCountIs('AWS::S3::Bucket', 1);
    const { body } = resource(template, 'AWS::S3::Bucket', 'Reports/Resource');
    const p = body.Properties;
    assert.equal(p.BucketName, 'cat-test-normalize-reports');
    assert.deepEqual(p.PublicAccessBlockConfiguration, {
      BlockPublicAcls: true,
      BlockPublicPolicy: true,
      IgnorePublicAcls: true,
      RestrictPublicBuckets: true,
    });
    assert.deepEqual(p.BucketEncryption, {
      ServerSideEncryptionConfiguration: [{ ServerSideEncryptionByDefault: { SSEAlgorithm: 'AES256' } }],
    });
    assert.equal(body.DeletionPolicy, 'Retain');
    assert.equal(body.UpdateReplacePolicy, 'Retain');
    assert.deepEqual(tagMap(p.Tags), { Project: 'CAT-TOKENS-ANALYSIS', Environment: 'test' });
  });

  it('aborts incomplete multipart uploads after a day', () => {
    const { body } = resource(template, 'AWS::S3::Bucket', 'Reports/Resource');
    assert.deepEqual(body.Properties.LifecycleConfiguration, {
      Rules: [{ Id: 'abort-incomplete-uploads', AbortIncompleteMultipartUpload: { DaysAfterInitiation: 1 }, Status: 'Enabled' }],
    });
  });

  it('refuses plain HTTP', () => {
    const { id } = resource(template, 'AWS::S3::Bucket', 'Reports/Resource');
    const policy = resolve(resource(template, 'AWS::S3::BucketPolicy', 'Reports/Policy/Resource').body.Properties.PolicyDocument);
    assert.deepEqual(policy.Statement, [
      {
        Action: 's3:*',
        Condition: { Bool: { 'aws:SecureTransport': 'false' } },
        Effect: 'Deny',
        Principal: { AWS: '*' },
        Resource: [`\${${id}.Arn}`, `\${${id}.Arn}/*`],
      },
    ]);
  });
});
