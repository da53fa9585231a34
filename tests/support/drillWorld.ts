// The drill's accounts, mocked: the target (DRS, IAM, EC2, CloudTrail), the drill identity's session
// and the staging account (DRS, CloudTrail), with a fake clock. tests/drill.spec.ts and the docs'
// sample outputs (tests/docSamples.spec.ts) drill against it.
import { CloudTrailClient, LookupEventsCommand } from "@aws-sdk/client-cloudtrail";
import {
    DescribeJobLogItemsCommand,
    DescribeJobsCommand,
    DescribeRecoveryInstancesCommand,
    DescribeSourceServersCommand,
    DrsClient,
    GetLaunchConfigurationCommand,
    GetReplicationConfigurationCommand,
    Job,
    JobLog,
    SourceServer,
    StartRecoveryCommand,
    TerminateRecoveryInstancesCommand,
} from "@aws-sdk/client-drs";
import { DescribeVolumesCommand, EC2Client } from "@aws-sdk/client-ec2";
import { GetRoleCommand, IAMClient, ListAttachedRolePoliciesCommand } from "@aws-sdk/client-iam";
import { GetCallerIdentityCommand, STSClient } from "@aws-sdk/client-sts";
import { mockClient } from "aws-sdk-client-mock";
import { parseConfig } from "../../config";
import { DrillAccess, IdentitySession } from "../../ops/aws/access";
import { Clock } from "../../ops/clock";
import { DrillOptions, DrillReport, drill, drillTag } from "../../ops/drill";
import { UnreachableAccount } from "../../ops/aws/faults";
import { StagingKeyExport } from "../../program/contract";

export const target = "111122223333";
export const staging = "444455556666";
export const region = "us-east-1";
export const keyId = "1234abcd-12ab-34cd-56ef-1234567890ab";
export const keyArn = `arn:aws:kms:${region}:${staging}:key/${keyId}`;
export const key: StagingKeyExport = {
    accountId: staging,
    region,
    keyId,
    keyArn,
    aliasName: "alias/drs-cross-account-ebs",
    stagingRoleArn: `arn:aws:iam::${staging}:role/service-role/DRSStagingAccountRole_${target}`,
};
export const operator = "DrsRecoveryOperator";
/** Roles may have paths: the drill must take the ARN from GetRole, never build it. */
export const operatorArn = `arn:aws:iam::${target}:role/dr/${operator}`;
export const operatorRoleId = "AROAOPERATOREXAMPLE01";
export const session = `arn:aws:sts::${target}:assumed-role/${operator}/drs-cross-account-kms-drill`;
export const keyUsePolicyArn = `arn:aws:iam::${target}:policy/DrsCrossAccountKmsKeyUse`;
export const outputs = {
    deploy: "target",
    targetAccountId: target,
    targetAccess: "documented",
    stagingKeys: [key],
    targetKeyUsePolicyArns: [keyUsePolicyArn],
    targetKeyUserRoleNames: [operator, "DrsAdmin"],
};
export const settingsWith = (target_: Record<string, unknown> = {}, extra: Record<string, unknown> = {}) =>
    parseConfig({
        deploy: "target",
        target: { accountId: target, keyUserRoleNames: [operator, "DrsAdmin"], ...target_ },
        stagingStacks: ["organization/drs-cross-account-kms/staging"],
        ...extra,
    }).settings;

export const awsError = (name: string, message = name) => Object.assign(new Error(message), { name });
export const started = Date.parse("2025-03-01T10:00:00Z");
/** A key of the target account: recovered volumes on it do not depend on the staging account. */
export const targetKeyArn = `arn:aws:kms:${region}:${target}:key/9999aaaa-12ab-34cd-56ef-1234567890ab`;

/** Every StartRecovery request any test sent: the suite proves none was ever a recovery. */
export const allStartRecoveryInputs: Record<string, unknown>[] = [];

export interface FakeServer {
    id: string;
    hostname: string;
    stagingId: string;
    state?: string;
    status?: string;
    errorMessage?: string;
    recoveryInstanceId?: string;
    /** Its staging server's own encryption; default the key. */
    encryption?: { ebsEncryption: string; ebsEncryptionKeyArn?: string };
}

/** web-1 and db-1 replicate normally; the others are not picked by --count. */
export const fleet = (): FakeServer[] => [
    { id: "s-1000000000000web1", hostname: "web-1", stagingId: "s-aaaaaaaaaaaaaweb1" },
    { id: "s-10000000000000db1", hostname: "db-1", stagingId: "s-aaaaaaaaaaaaaadb1" },
    { id: "s-1000000000stalled", hostname: "stalled-1", stagingId: "s-aaaaaaaaastalled", state: "STALLED" },
    {
        id: "s-1000000000exterr1",
        hostname: "broken-1",
        stagingId: "s-aaaaaaaaaexterr1",
        status: "EXTENSION_ERROR",
        errorMessage: "role gone",
    },
    { id: "s-100000000recinst1", hostname: "recovered-1", stagingId: "s-aaaaaaaarecinst1", recoveryInstanceId: "i-0realrecovery0001" },
];

export function extended(s: FakeServer): SourceServer {
    return {
        sourceServerID: s.id,
        sourceProperties: { identificationHints: { hostname: s.hostname } },
        dataReplicationInfo: { dataReplicationState: (s.state ?? "CONTINUOUS") as never },
        stagingArea: {
            status: (s.status ?? "EXTENDED") as never,
            stagingAccountID: staging,
            stagingSourceServerArn: `arn:aws:drs:${region}:${staging}:source-server/${s.stagingId}`,
            errorMessage: s.errorMessage,
        },
        recoveryInstanceId: s.recoveryInstanceId,
    };
}

/** A fake clock: sleeping moves time on at once, and is recorded. */
export function fakeClock() {
    let now = started;
    const sleeps: number[] = [];
    const clock: Clock = {
        now: () => now,
        sleep: async (ms, signal) => {
            if (signal?.aborted) return;
            sleeps.push(ms);
            now += ms;
        },
    };
    return { clock, sleeps, advance: (ms: number) => (now += ms) };
}

export const jobId = "drsjob-0123456789abcdef0";
/** The run tag's value in every test run. */
export const runId = "run-00000000-0000-4000-8000-000000000001";
export const job = (status: string, servers: { id: string; launch: string; instance?: string }[], extra: Partial<Job> = {}): Job => ({
    jobID: jobId,
    type: "LAUNCH",
    initiatedBy: "START_DRILL",
    status: status as never,
    creationDateTime: new Date(started + 5_000).toISOString(),
    participatingServers: servers.map((s) => ({ sourceServerID: s.id, launchStatus: s.launch as never, recoveryInstanceID: s.instance })),
    tags: { [drillTag.key]: drillTag.value },
    ...extra,
});
export const logItem = (event: string, sourceServerID?: string, rawError?: string): JobLog => ({
    logDateTime: new Date(started + 60_000).toISOString(),
    event: event as never,
    eventData: { sourceServerID, rawError },
});

/** A CloudTrail event as LookupEvents returns it, with the record as CloudTrailEvent. */
export function trailEvent(record: Record<string, unknown>) {
    return {
        EventId: String(record.eventID ?? "e"),
        EventName: String(record.eventName),
        EventSource: "kms.amazonaws.com",
        EventTime: new Date(String(record.eventTime)),
        Resources: [{ ResourceType: "AWS::KMS::Key", ResourceName: keyArn }],
        CloudTrailEvent: JSON.stringify(record),
    };
}
export const refused = (eventName: string, arn: string, extra: Record<string, unknown> = {}) =>
    trailEvent({
        eventVersion: "1.08",
        eventTime: "2025-03-01T10:06:00Z",
        eventSource: "kms.amazonaws.com",
        eventName,
        awsRegion: region,
        sourceIPAddress: "ec2.amazonaws.com",
        errorCode: "AccessDenied",
        errorMessage: `User: ${arn} is not authorized to perform: kms:${eventName} on resource: ${keyArn} because no resource-based policy allows the kms:${eventName} action`,
        userIdentity: { type: "AssumedRole", arn, accountId: arn.split(":")[4], invokedBy: "ec2.amazonaws.com" },
        resources: [{ accountId: staging, type: "AWS::KMS::Key", ARN: keyArn }],
        eventID: `ev-${eventName}`,
        sharedEventID: `shared-${eventName}`,
        ...extra,
    });
/** A KMS event on another key, or one that succeeded: never a finding. */
export const noise = [
    trailEvent({ eventTime: "2025-03-01T10:05:00Z", eventName: "Decrypt", userIdentity: { arn: session, accountId: target } }),
    {
        ...trailEvent({
            eventTime: "2025-03-01T10:05:00Z",
            eventName: "Decrypt",
            errorCode: "AccessDenied",
            userIdentity: { arn: session, accountId: target },
            resources: [{ ARN: `arn:aws:kms:${region}:${staging}:key/ffffffff-0000-0000-0000-000000000000` }],
        }),
        Resources: [],
    },
];

/**
 * The accounts, mocked: the target as the command reads it (DRS, IAM, EC2, its CloudTrail), the
 * drill identity's session (DRS, STS), and the staging account (DRS, its CloudTrail). Recovered
 * volumes are on a key of the target unless `volumeKeys` says otherwise.
 */
export function world(
    options: { servers?: FakeServer[]; stagingUnreachable?: boolean; volumeKeys?: Record<string, string | undefined> } = {},
) {
    const servers = options.servers ?? fleet();
    const targetDrs = new DrsClient({ region });
    const targetIam = new IAMClient({ region });
    const targetEc2 = new EC2Client({ region });
    const drillDrs = new DrsClient({ region });
    const drillSts = new STSClient({ region });
    const stagingDrs = new DrsClient({ region });
    const trail = new CloudTrailClient({ region });
    const targetTrailClient = new CloudTrailClient({ region });
    const m = {
        targetDrs: mockClient(targetDrs),
        iam: mockClient(targetIam),
        targetEc2: mockClient(targetEc2),
        drillDrs: mockClient(drillDrs),
        sts: mockClient(drillSts),
        stagingDrs: mockClient(stagingDrs),
        /** The staging account's CloudTrail. */
        trail: mockClient(trail),
        /** The target account's CloudTrail: where a target principal's refused cross-account call is logged. */
        targetTrail: mockClient(targetTrailClient),
    };
    m.targetDrs.on(DescribeSourceServersCommand).callsFake(async (input: { filters?: { sourceServerIDs?: string[] } }) => ({
        items: servers.filter((s) => !input.filters?.sourceServerIDs || input.filters.sourceServerIDs.includes(s.id)).map(extended),
    }));
    m.targetDrs.on(GetLaunchConfigurationCommand).callsFake(async (input: { sourceServerID: string }) => ({
        sourceServerID: input.sourceServerID,
        launchDisposition: "STARTED",
        targetInstanceTypeRightSizingMethod: "BASIC",
        copyPrivateIp: false,
        copyTags: true,
        licensing: { osByol: false },
        postLaunchEnabled: false,
        ec2LaunchTemplateID: "lt-0123456789abcdef0",
    }));
    m.iam.on(GetRoleCommand).callsFake(async (input: { RoleName: string }) => {
        if (input.RoleName === operator) return { Role: { RoleName: operator, Arn: operatorArn, RoleId: operatorRoleId, Path: "/dr/" } };
        if (input.RoleName === "Admin")
            return { Role: { RoleName: "Admin", Arn: `arn:aws:iam::${target}:role/Admin`, RoleId: "AROAADMINEXAMPLE0001" } };
        throw awsError("NoSuchEntityException", `The role with name ${input.RoleName} cannot be found.`);
    });
    m.iam.on(ListAttachedRolePoliciesCommand).callsFake(async (input: { RoleName: string }) => ({
        AttachedPolicies:
            input.RoleName === operator
                ? [
                      {
                          PolicyName: "AWSElasticDisasterRecoveryConsoleFullAccess_v2",
                          PolicyArn: "arn:aws:iam::aws:policy/AWSElasticDisasterRecoveryConsoleFullAccess_v2",
                      },
                      { PolicyName: "DrsCrossAccountKmsKeyUse", PolicyArn: keyUsePolicyArn },
                  ]
                : [{ PolicyName: "AdministratorAccess", PolicyArn: "arn:aws:iam::aws:policy/AdministratorAccess" }],
        IsTruncated: false,
    }));
    // The session is the role assumed last (only the first key-user role's is the constant `session`).
    let assumedRole = operator;
    m.sts.on(GetCallerIdentityCommand).callsFake(async () => ({
        Account: target,
        Arn: `arn:aws:sts::${target}:assumed-role/${assumedRole}/drs-cross-account-kms-drill`,
    }));
    m.stagingDrs.on(DescribeSourceServersCommand).callsFake(async (input: { filters?: { sourceServerIDs?: string[] } }) => ({
        items: servers
            .filter((s) => input.filters?.sourceServerIDs?.includes(s.stagingId))
            .map((s) => ({ sourceServerID: s.stagingId, sourceProperties: { identificationHints: { hostname: s.hostname } } })),
    }));
    m.stagingDrs.on(GetReplicationConfigurationCommand).callsFake(async (input: { sourceServerID: string }) => ({
        sourceServerID: input.sourceServerID,
        ...(servers.find((s) => s.stagingId === input.sourceServerID)?.encryption ?? {
            ebsEncryption: "CUSTOM",
            ebsEncryptionKeyArn: keyArn,
        }),
    }));
    m.drillDrs.on(StartRecoveryCommand).callsFake(async (input: Record<string, unknown>) => {
        allStartRecoveryInputs.push(input);
        const ids = (input.sourceServers as { sourceServerID: string }[]).map((s) => s.sourceServerID);
        return {
            job: job(
                "PENDING",
                ids.map((id) => ({ id, launch: "PENDING" })),
            ),
        };
    });
    m.drillDrs.on(DescribeJobLogItemsCommand).resolves({ items: [] });
    m.drillDrs.on(TerminateRecoveryInstancesCommand).resolves({ job: { jobID: "drsjob-terminate000000001" } });
    m.trail.on(LookupEventsCommand).resolves({ Events: [] });
    m.targetTrail.on(LookupEventsCommand).resolves({ Events: [] });
    // A recovery instance is its EC2 instance; each has one volume, on a key of the target unless told otherwise.
    m.targetDrs.on(DescribeRecoveryInstancesCommand).callsFake(async (input: { filters?: { recoveryInstanceIDs?: string[] } }) => ({
        items: (input.filters?.recoveryInstanceIDs ?? []).map((id) => ({ recoveryInstanceID: id, ec2InstanceID: id })),
    }));
    m.targetEc2.on(DescribeVolumesCommand).callsFake(async (input: { Filters?: { Values?: string[] }[] }) => {
        const instance = input.Filters?.[0]?.Values?.[0] ?? "";
        const kmsKey = instance in (options.volumeKeys ?? {}) ? options.volumeKeys![instance] : targetKeyArn;
        return { Volumes: [{ VolumeId: `vol-${instance.slice(2)}`, Encrypted: kmsKey !== undefined, KmsKeyId: kmsKey }] };
    });
    const identities: (string | undefined)[] = [];
    const access: DrillAccess = {
        kms: async () => {
            throw new Error("drill never uses KMS");
        },
        drsWriter: async () => {
            throw new Error("drill writes only as the drill identity");
        },
        ec2: async (account) => {
            if (account !== target) throw new Error("drill reads EC2 in the target only");
            return targetEc2;
        },
        drs: async (account) => {
            if (account === target) return targetDrs;
            if (options.stagingUnreachable)
                throw new UnreachableAccount(
                    account,
                    `the current credentials are for account ${target}, and the config names no roleArn for ${account}`,
                );
            return stagingDrs;
        },
        iam: async (account) => {
            if (account !== target) throw new Error("drill reads IAM in the target only");
            return targetIam;
        },
        cloudTrail: async (account) => {
            if (account === target) return targetTrailClient;
            if (account !== staging) throw new Error("CloudTrail is read in the target and the staging account only");
            if (options.stagingUnreachable)
                throw new UnreachableAccount(
                    account,
                    `the current credentials are for account ${target}, and the config names no roleArn for ${account}`,
                );
            return trail;
        },
        identity: async (roleArn): Promise<IdentitySession> => {
            identities.push(roleArn);
            if (roleArn) assumedRole = roleArn.split("/").pop()!;
            return { drs: drillDrs, drsWriter: drillDrs, sts: drillSts };
        },
    };
    return { access, m, identities, servers };
}
export type World = ReturnType<typeof world>;

/** DescribeJobs answers these, one per call, the last one from then on. */
export function jobAnswers(w: World, ...answers: Job[]) {
    let call = 0;
    w.m.drillDrs.on(DescribeJobsCommand).callsFake(async () => ({ items: [answers[Math.min(call++, answers.length - 1)]] }));
}

export async function runDrill(
    w: World,
    options: Partial<DrillOptions> = {},
    extra: {
        settings?: ReturnType<typeof settingsWith>;
        clock?: ReturnType<typeof fakeClock>;
        deadline?: import("../../ops/clock").Deadline;
        signal?: AbortSignal;
        outputs?: Record<string, unknown>;
        keys?: StagingKeyExport[];
    } = {},
) {
    let out = "";
    let err = "";
    const clock = extra.clock ?? fakeClock();
    const report: DrillReport = await drill(
        { settings: extra.settings ?? settingsWith(), outputs: extra.outputs ?? outputs, keys: extra.keys ?? [key], stack: "target" },
        w.access,
        { mode: "dry-run", ...options },
        {
            io: { out: (t) => void (out += t), err: (t) => void (err += t) },
            clock: clock.clock,
            deadline: extra.deadline,
            signal: extra.signal,
            pollMs: 30_000,
            trailPollMs: 120_000,
            progressDelayMs: 0,
            runId: runId,
        },
    );
    return { report, out, err, code: report.exitCode, clock };
}

export const calls = (m: World["m"][keyof World["m"]], command: new (...args: never[]) => unknown) =>
    m.commandCalls(command as never).map((c) => c.args[0].input as any);
export const [web, db] = ["s-1000000000000web1", "s-10000000000000db1"];
export const launched = (id: string, instance: string) => ({ id, launch: "LAUNCHED", instance });
