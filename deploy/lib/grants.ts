// What each function's role may do, written out by hand: every statement
// names its resources (no `*` where a name is known), and nothing comes from
// a managed policy. The runner's calls, job by job:
//
//   archive      dynamodb:Scan (parallel) of the old table; s3:PutObject and,
//                for a multipart upload that fails, s3:AbortMultipartUpload
//                under historical_prefix. It reads nothing from S3.
//   consolidate  dynamodb:Scan of the new table; s3:GetObject of the history
//                (historical_prefix) and of the output it replaces (to count
//                its rows, output_prefix), with s3:ListBucket on the bucket
//                so that a missing object answers 404 ("the history is
//                missing", "no previous output") instead of 403 (S3 decides
//                that without an s3:prefix, so a prefix condition would never
//                match: the grant names the bucket, and lists key names only); writes
//                under output_prefix; the Athena refresh: the workgroup's
//                queries, the Glue catalog's database, table and view
//                (CREATE EXTERNAL TABLE IF NOT EXISTS, CREATE OR REPLACE
//                VIEW), the query results' location; sqs:SendMessage to the
//                dead-letter queue (Lambda's asynchronous on-failure
//                destination sends with the function's role).
//   both         logs:CreateLogStream and logs:PutLogEvents on the function's
//                own log group; its detail CSV when configured (`detail` for
//                the daily job, `archive_detail` for the archival); s3:GetObject
//                in bedrock-chat's large-message bucket (`large_message_bucket`);
//                kms:GenerateDataKey and kms:Decrypt on a customer key named
//                by `sse = "aws:kms:KEY"` (writes, multipart writes and reads
//                of objects it encrypted).

import { Aws } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';

import { EnvConfig, FunctionDeploy, Job, S3Place } from './config';

const P = Aws.PARTITION;
const R = Aws.REGION;
const A = Aws.ACCOUNT_ID;

/** The ARN of a bucket. */
export const bucketArn = (bucket: string) => `arn:${P}:s3:::${bucket}`;
/** The ARN pattern of the objects under `prefix` (`prefix*`). */
export const objectsArn = (bucket: string, prefix: string) => `arn:${P}:s3:::${bucket}/${prefix}*`;
const objectArn = (p: S3Place) => `arn:${P}:s3:::${p.bucket}/${p.key}`;

/** The key's ARN: as given, or built from an id in the stack's account and region. */
export function kmsKeyArn(key: string): string {
  return key.startsWith('arn:') ? key : `arn:${P}:kms:${R}:${A}:key/${key}`;
}

/** The function's deployment settings. */
export function functionOf(env: EnvConfig, job: Job): FunctionDeploy {
  return job === 'archive' ? env.deploy.archive : env.deploy.consolidate;
}

/** The log group a function writes to. */
export function logGroupName(fn: FunctionDeploy): string {
  return `/aws/lambda/${fn.name}`;
}

function statement(sid: string, actions: string[], resources: string[], conditions?: Record<string, unknown>) {
  return new iam.PolicyStatement({ sid, effect: iam.Effect.ALLOW, actions, resources, conditions });
}

/** Every statement of `job`'s role; `deadLetterArn` is the consolidated function's queue. */
export function roleStatements(env: EnvConfig, job: Job, deadLetterArn?: string): iam.PolicyStatement[] {
  const fn = functionOf(env, job);
  const b = env.bucket;
  const out: iam.PolicyStatement[] = [
    statement('WriteOwnLogs', ['logs:CreateLogStream', 'logs:PutLogEvents'], [
      `arn:${P}:logs:${R}:${A}:log-group:${logGroupName(fn)}:*`,
    ]),
    statement('ScanTable', ['dynamodb:Scan'], [
      `arn:${P}:dynamodb:${R}:${A}:table/${job === 'archive' ? env.oldTable : env.newTable}`,
    ]),
  ];

  const reads = job === 'archive' ? [] : [env.historicalPrefix, env.outputPrefix];
  const writes = [objectsArn(b, job === 'archive' ? env.historicalPrefix : env.outputPrefix)];
  const detail = job === 'archive' ? env.archiveDetail : env.detail;
  if (detail !== undefined) writes.push(objectArn(detail));
  if (env.largeMessageBucket !== undefined) {
    out.push(statement('ReadLargeMessages', ['s3:GetObject'], [`arn:${P}:s3:::${env.largeMessageBucket}/*`]));
  }
  if (reads.length > 0) {
    out.push(statement('ReadInputs', ['s3:GetObject'], reads.map((p) => objectsArn(b, p))));
    out.push(
      statement('ListInputBucket', ['s3:ListBucket'], [bucketArn(b)]),
    );
  }
  out.push(statement('WriteOutputs', ['s3:PutObject', 's3:AbortMultipartUpload'], writes));

  if (job === 'consolidate' && env.athena !== undefined) {
    const a = env.athena;
    // Glue keeps names in lower case (Athena lowers them), and IAM compares ARNs as written.
    const db = a.database.toLowerCase();
    out.push(
      statement('RunViewQueries', ['athena:StartQueryExecution', 'athena:GetQueryExecution'], [
        `arn:${P}:athena:${R}:${A}:workgroup/${a.workgroup}`,
      ]),
      statement('CatalogTableAndView', ['glue:GetDatabase', 'glue:GetTable', 'glue:CreateTable', 'glue:UpdateTable'], [
        `arn:${P}:glue:${R}:${A}:catalog`,
        `arn:${P}:glue:${R}:${A}:database/${db}`,
        `arn:${P}:glue:${R}:${A}:table/${db}/${a.table.toLowerCase()}`,
        `arn:${P}:glue:${R}:${A}:table/${db}/${a.view.toLowerCase()}`,
      ]),
    );
    const results = env.deploy.athenaResults;
    if (results !== undefined) {
      out.push(
        statement('WriteQueryResults', ['s3:GetObject', 's3:PutObject', 's3:AbortMultipartUpload'], [
          objectsArn(results.bucket, results.key),
        ]),
        statement('LocateResultsBucket', ['s3:GetBucketLocation'], [bucketArn(results.bucket)]),
      );
    }
  }

  if (env.sse.mode === 'aws:kms:key') {
    out.push(statement('UseOutputKey', ['kms:GenerateDataKey', 'kms:Decrypt'], [kmsKeyArn(env.sse.key)]));
  }
  if (deadLetterArn !== undefined) {
    out.push(statement('SendFailedEvents', ['sqs:SendMessage'], [deadLetterArn]));
  }
  return out;
}
