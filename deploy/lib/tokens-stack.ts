// Stack 3 of the seeds (`cat-{env}-tokens-stack`), with Tally in place of
// the Python Lambdas: the one-time archival function, the daily
// consolidation function, one hand-written role and one log group each,
// the daily EventBridge rule (enabled as tally.toml says) and a dead-letter
// queue for the scheduled runs that fail; optionally the reports bucket and
// the Athena workgroup. Everything is named by tally.toml, nothing by
// account or region: the stack is environment-agnostic.

import { CfnOutput, Duration, RemovalPolicy, Stack, StackProps, Tags } from 'aws-cdk-lib';
import * as athena from 'aws-cdk-lib/aws-athena';
import * as events from 'aws-cdk-lib/aws-events';
import * as targets from 'aws-cdk-lib/aws-events-targets';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as s3 from 'aws-cdk-lib/aws-s3';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';

import { EnvConfig, Job } from './config';
import { functionOf, logGroupName, roleStatements } from './grants';

/** The `ETLComponent` tag of each function and its resources (the seeds' values). */
export const COMPONENT: Record<Job, string> = { archive: 'TOKENS-ARCHIVAL', consolidate: 'TOKENS-CONSOLIDATED' };

/**
 * How long a scheduled event may wait for delivery (the rule) or for a
 * retry of a failed run (the function's asynchronous invocation): the runs
 * of the day, well before the next one.
 */
export const MAX_EVENT_AGE = Duration.hours(2);
/** Retries of a scheduled event, by the rule and by Lambda. */
export const RETRY_ATTEMPTS = 2;

export interface TokensStackProps extends StackProps {
  /** The environment, from tally.toml (`loadConfig`). */
  readonly config: EnvConfig;
  /** A folder holding `bootstrap`, `tally` and `tally.toml` (scripts/asset.sh builds deploy/asset/). */
  readonly assetPath: string;
}

export class TokensStack extends Stack {
  readonly archive: lambda.Function;
  readonly consolidate: lambda.Function;
  readonly deadLetters: sqs.Queue;
  readonly schedule: events.Rule;

  constructor(scope: Construct, id: string, props: TokensStackProps) {
    const env = props.config;
    super(scope, id, {
      ...props,
      stackName: env.deploy.stack,
      description: `Tally (${env.name}): the tokens archival and daily consolidation Lambdas, their roles and the schedule`,
    });
    for (const [key, value] of Object.entries(env.deploy.tags)) Tags.of(this).add(key, value);

    if (env.deploy.createBucket) {
      new s3.Bucket(this, 'Reports', {
        bucketName: env.bucket,
        blockPublicAccess: s3.BlockPublicAccess.BLOCK_ALL,
        encryption: s3.BucketEncryption.S3_MANAGED,
        enforceSSL: true,
        lifecycleRules: [{ id: 'abort-incomplete-uploads', abortIncompleteMultipartUploadAfter: Duration.days(1) }],
        removalPolicy: RemovalPolicy.RETAIN,
      });
    }

    // One asset, both functions: the runner picks its job from TALLY_JOB.
    const code = lambda.Code.fromAsset(props.assetPath);

    const archiveScope = this.component('Archive', env, 'archive');
    this.archive = this.tallyFunction(archiveScope, env, 'archive', code, roleStatements(env, 'archive'));
    // Invoked once by hand: a failed run is read in its answer and its log,
    // never re-run behind the operator's back (it scans the whole table).
    this.archive.configureAsyncInvoke({ retryAttempts: 0 });

    const consolidateScope = this.component('Consolidate', env, 'consolidate');
    this.deadLetters = new sqs.Queue(consolidateScope, 'DeadLetters', {
      queueName: `${env.deploy.consolidate.name}-dlq`,
      encryption: sqs.QueueEncryption.SQS_MANAGED,
      enforceSSL: true,
      retentionPeriod: Duration.days(14),
    });
    if (env.athena !== undefined && env.deploy.createWorkgroup) {
      const results = env.deploy.athenaResults!;
      new athena.CfnWorkGroup(consolidateScope, 'Workgroup', {
        name: env.athena.workgroup,
        description: `Tally (${env.name}): the daily job's view refresh`,
        state: 'ENABLED',
        recursiveDeleteOption: true,
        workGroupConfiguration: {
          enforceWorkGroupConfiguration: true,
          publishCloudWatchMetricsEnabled: true,
          resultConfiguration: {
            outputLocation: `s3://${results.bucket}/${results.key}`,
            encryptionConfiguration: { encryptionOption: 'SSE_S3' },
          },
        },
      });
    }
    this.consolidate = this.tallyFunction(
      consolidateScope,
      env,
      'consolidate',
      code,
      roleStatements(env, 'consolidate', this.deadLetters.queueArn),
    );
    // EventBridge invokes asynchronously: a run that fails (a function
    // error) is retried by Lambda, then sent to the queue.
    const onFailure: lambda.IDestination = { bind: () => ({ destination: this.deadLetters.queueArn }) };
    this.consolidate.configureAsyncInvoke({ retryAttempts: RETRY_ATTEMPTS, maxEventAge: MAX_EVENT_AGE, onFailure });
    // An event the rule could not deliver is retried by EventBridge, then sent to the queue.
    this.schedule = new events.Rule(consolidateScope, 'Schedule', {
      ruleName: env.deploy.rule,
      description: `Tally (${env.name}): the daily consolidation, ${env.schedule.cron} UTC`,
      schedule: events.Schedule.expression(env.schedule.cron),
      enabled: env.schedule.enabled,
      targets: [
        new targets.LambdaFunction(this.consolidate, {
          retryAttempts: RETRY_ATTEMPTS,
          maxEventAge: MAX_EVENT_AGE,
          deadLetterQueue: this.deadLetters,
        }),
      ],
    });

    new CfnOutput(this, 'ArchiveFunctionName', { value: this.archive.functionName });
    new CfnOutput(this, 'ConsolidateFunctionName', { value: this.consolidate.functionName });
    new CfnOutput(this, 'DeadLetterQueueUrl', { value: this.deadLetters.queueUrl });
  }

  /** A scope whose resources carry the function's `ETLComponent` and `DataSource` tags. */
  private component(id: string, env: EnvConfig, job: Job): Construct {
    const scope = new Construct(this, id);
    Tags.of(scope).add('ETLComponent', COMPONENT[job]);
    Tags.of(scope).add('DataSource', functionOf(env, job).dataSource);
    return scope;
  }

  private tallyFunction(
    scope: Construct,
    env: EnvConfig,
    job: Job,
    code: lambda.Code,
    statements: iam.PolicyStatement[],
  ): lambda.Function {
    const fn = functionOf(env, job);
    const logGroup = new logs.LogGroup(scope, 'Logs', {
      logGroupName: logGroupName(fn),
      retention: env.deploy.logRetentionDays as logs.RetentionDays,
      removalPolicy: RemovalPolicy.RETAIN,
    });
    const role = new iam.Role(scope, 'Role', {
      description: `Tally (${env.name}): ${fn.name}`,
      assumedBy: new iam.ServicePrincipal('lambda.amazonaws.com'),
      inlinePolicies: { tally: new iam.PolicyDocument({ statements, minimize: false }) },
    });
    const f = new lambda.Function(scope, 'Function', {
      functionName: fn.name,
      description:
        job === 'archive'
          ? `Tally (${env.name}): one-time archival of ${env.oldTable} (tally lambda, TALLY_JOB=archive)`
          : `Tally (${env.name}): daily consolidation of ${env.newTable} with the history (tally lambda, TALLY_JOB=consolidate)`,
      runtime: lambda.Runtime.PROVIDED_AL2023,
      architecture: lambda.Architecture.X86_64,
      handler: 'bootstrap',
      code,
      memorySize: fn.memoryMb,
      timeout: Duration.seconds(fn.timeoutS),
      role,
      logGroup,
      environment: functionEnvironment(env, job),
    });
    // The Role's GetAtt already orders the function after it, and the role
    // holds all of its grants inline (there is no DefaultPolicy to wait for):
    // CDK's DependsOn would only repeat it (cfn-lint W3005).
    (f.node.defaultChild as lambda.CfnFunction).addDeletionOverride('DependsOn');
    return f;
  }
}

/** The function's variables: the job, the environment of the shipped tally.toml, the seeds' variables. */
export function functionEnvironment(env: EnvConfig, job: Job): Record<string, string> {
  const common = { TALLY_JOB: job, TALLY_ENV: env.name };
  if (job === 'archive') {
    return {
      ...common,
      OLD_DYNAMODB_TABLE_NAME: env.oldTable,
      S3_BUCKET_NAME: env.bucket,
      S3_OLD_DATA_PREFIX: env.historicalPrefix,
      S3_OUTPUT_PREFIX: env.outputPrefix,
      FILTER_DATE_START: env.dates.archivalStart,
      FILTER_DATE_END: env.dates.archivalEnd,
    };
  }
  const vars: Record<string, string> = {
    ...common,
    DYNAMODB_TABLE_NAME: env.newTable,
    S3_BUCKET_NAME: env.bucket,
    S3_OUTPUT_PREFIX: env.outputPrefix,
    S3_OLD_DATA_PREFIX: env.historicalPrefix,
    FILTER_DATE_START: env.dates.consolidatedStart,
  };
  if (env.athena !== undefined) {
    vars.ATHENA_DATABASE = env.athena.database;
    vars.ATHENA_WORKGROUP = env.athena.workgroup;
    vars.ATHENA_VIEW_NAME = env.athena.view;
  }
  return vars;
}
