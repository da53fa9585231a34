import { CloudTrailClient, LookupEventsCommand } from "@aws-sdk/client-cloudtrail";
import {
    DescribeJobLogItemsCommand,
    DescribeJobsCommand,
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
import { GetRoleCommand, IAMClient, ListAttachedRolePoliciesCommand } from "@aws-sdk/client-iam";
import { AssumeRoleCommand, GetCallerIdentityCommand, STSClient } from "@aws-sdk/client-sts";
import { mockClient } from "aws-sdk-client-mock";
import { expect } from "chai";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { StagingKeyExport, parseConfig } from "../config";
import { AssumedRoleAccess, DrillAccess, IdentitySession, UnreachableAccount } from "../tools/awsAccess";
import { run as runCli } from "../tools/cli";
import {
    Clock,
    DiagnosisContext,
    DrillOptions,
    DrillReport,
    drill,
    drillCost,
    drillHelp,
    drillRequest,
    drillTag,
    explainAll,
    lookupEventsIntervalMs,
    pacer,
    permissions,
    TrailRecord,
} from "../tools/drill";
import { pricesWith } from "../tools/pricing";
import { spawnCli } from "./mocks";

const target = "111122223333";
const staging = "444455556666";
const region = "us-east-1";
const keyId = "1234abcd-12ab-34cd-56ef-1234567890ab";
const keyArn = `arn:aws:kms:${region}:${staging}:key/${keyId}`;
const key: StagingKeyExport = {
    accountId: staging,
    region,
    keyId,
    keyArn,
    aliasName: "alias/drs-cross-account-ebs",
    stagingRoleArn: `arn:aws:iam::${staging}:role/service-role/DRSStagingAccountRole_${target}`,
};
const operator = "DrsRecoveryOperator";
/** Roles may have paths: the drill must take the ARN from GetRole, never build it. */
const operatorArn = `arn:aws:iam::${target}:role/dr/${operator}`;
const operatorRoleId = "AROAOPERATOREXAMPLE01";
const session = `arn:aws:sts::${target}:assumed-role/${operator}/drs-cross-account-kms-drill`;
const keyUsePolicyArn = `arn:aws:iam::${target}:policy/DrsCrossAccountKmsKeyUse`;
const outputs = {
    deploy: "target",
    targetAccountId: target,
    targetAccess: "documented",
    stagingKeys: [key],
    targetKeyUsePolicyArns: [keyUsePolicyArn],
    targetKeyUserRoleNames: [operator, "DrsAdmin"],
};
const settingsWith = (target_: Record<string, unknown> = {}, extra: Record<string, unknown> = {}) =>
    parseConfig({
        deploy: "target",
        target: { accountId: target, keyUserRoleNames: [operator, "DrsAdmin"], ...target_ },
        stagingStacks: ["organization/drs-cross-account-kms/staging"],
        ...extra,
    }).settings;

const awsError = (name: string, message = name) => Object.assign(new Error(message), { name });
const started = Date.parse("2025-03-01T10:00:00Z");

/** Every StartRecovery request any test sent: the suite proves none was ever a recovery. */
const allStartRecoveryInputs: Record<string, unknown>[] = [];

interface FakeServer {
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
const fleet = (): FakeServer[] => [
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

function extended(s: FakeServer): SourceServer {
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
function fakeClock() {
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

const jobId = "drsjob-0123456789abcdef0";
const job = (status: string, servers: { id: string; launch: string; instance?: string }[], extra: Partial<Job> = {}): Job => ({
    jobID: jobId,
    type: "LAUNCH",
    initiatedBy: "START_DRILL",
    status: status as never,
    creationDateTime: new Date(started + 5_000).toISOString(),
    participatingServers: servers.map((s) => ({ sourceServerID: s.id, launchStatus: s.launch as never, recoveryInstanceID: s.instance })),
    tags: { [drillTag.key]: drillTag.value },
    ...extra,
});
const logItem = (event: string, sourceServerID?: string, rawError?: string): JobLog => ({
    logDateTime: new Date(started + 60_000).toISOString(),
    event: event as never,
    eventData: { sourceServerID, rawError },
});

/** A CloudTrail event as LookupEvents returns it, with the record as CloudTrailEvent. */
function trailEvent(record: Record<string, unknown>) {
    return {
        EventId: String(record.eventID ?? "e"),
        EventName: String(record.eventName),
        EventSource: "kms.amazonaws.com",
        EventTime: new Date(String(record.eventTime)),
        Resources: [{ ResourceType: "AWS::KMS::Key", ResourceName: keyArn }],
        CloudTrailEvent: JSON.stringify(record),
    };
}
const refused = (eventName: string, arn: string, extra: Record<string, unknown> = {}) =>
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
const noise = [
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
 * The accounts, mocked: the target as the command reads it (DRS, IAM), the drill identity's session
 * (DRS, STS), and the staging account (DRS, CloudTrail).
 */
function world(options: { servers?: FakeServer[]; stagingUnreachable?: boolean } = {}) {
    const servers = options.servers ?? fleet();
    const targetDrs = new DrsClient({ region });
    const targetIam = new IAMClient({ region });
    const drillDrs = new DrsClient({ region });
    const drillSts = new STSClient({ region });
    const stagingDrs = new DrsClient({ region });
    const trail = new CloudTrailClient({ region });
    const m = {
        targetDrs: mockClient(targetDrs),
        iam: mockClient(targetIam),
        drillDrs: mockClient(drillDrs),
        sts: mockClient(drillSts),
        stagingDrs: mockClient(stagingDrs),
        trail: mockClient(trail),
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
    const identities: (string | undefined)[] = [];
    const access: DrillAccess = {
        kms: async () => {
            throw new Error("drill never uses KMS");
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
            if (account !== staging) throw new Error("CloudTrail is read in the staging account only");
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
            return { drs: drillDrs, sts: drillSts };
        },
    };
    return { access, m, identities, servers };
}
type World = ReturnType<typeof world>;

/** DescribeJobs answers these, one per call, the last one from then on. */
function jobAnswers(w: World, ...answers: Job[]) {
    let call = 0;
    w.m.drillDrs.on(DescribeJobsCommand).callsFake(async () => ({ items: [answers[Math.min(call++, answers.length - 1)]] }));
}

async function runDrill(
    w: World,
    options: Partial<DrillOptions> = {},
    extra: {
        settings?: ReturnType<typeof settingsWith>;
        clock?: ReturnType<typeof fakeClock>;
        signal?: AbortSignal;
        outputs?: Record<string, unknown>;
    } = {},
) {
    let out = "";
    let err = "";
    const clock = extra.clock ?? fakeClock();
    const report: DrillReport = await drill(
        { settings: extra.settings ?? settingsWith(), outputs: extra.outputs ?? outputs, keys: [key], stack: "target" },
        w.access,
        { mode: "dry-run", ...options },
        {
            io: { out: (t) => void (out += t), err: (t) => void (err += t) },
            clock: clock.clock,
            signal: extra.signal,
            pollMs: 30_000,
            progressDelayMs: 0,
        },
    );
    return { report, out, err, code: report.exitCode, clock };
}

const calls = (m: World["m"][keyof World["m"]], command: new (...args: never[]) => unknown) =>
    m.commandCalls(command as never).map((c) => c.args[0].input as any);
const [web, db] = ["s-1000000000000web1", "s-10000000000000db1"];
const launched = (id: string, instance: string) => ({ id, launch: "LAUNCHED", instance });

describe("drill", () => {
    it("estimates its cost from the price table: DRS per server-hour in each Region, the rest at EC2 and EBS rates", () => {
        const prices = pricesWith({ drsServerHour: { "us-east-1": 0.03 } });
        const cost = drillCost(prices, [{ region: "us-east-1" }, { region: "us-east-1" }, { region: "eu-west-1" }], 90, true);
        expect(cost).to.include(
            "(eu-west-1: no DRS price in the table (--prices drsServerHour); us-east-1: 2 servers x $0.03 an hour = $0.06 an hour)",
        );
        expect(cost).to.include("up to 90 minutes (--timeout) plus the clean-up, and longer: --keep leaves them running.");
        expect(cost).to.match(/^AWS list prices, with the figures of a --prices file \(tools\/pricing.ts\)/);
    });

    describe("the plan (dry run)", () => {
        it("prints the servers, that each is on its key, the launch settings, the identity, duration and cost; writes nothing (exit 0)", async () => {
            const w = world();
            const { code, out, report } = await runDrill(w);
            expect(code).to.equal(0);
            expect(calls(w.m.drillDrs, StartRecoveryCommand)).to.have.length(0);
            expect(calls(w.m.drillDrs, TerminateRecoveryInstancesCommand)).to.have.length(0);
            expect(w.m.trail.calls()).to.have.length(0);
            expect(out).to.include("Dry run: nothing is started. Run again with --start to start the drill.");
            expect(out).to.include(
                `Identity: role ${operator} (${operatorArn}), the first of target.keyUserRoleNames (${operator}, DrsAdmin; --role names another).`,
            );
            expect(out).to.include("  holds the key-use policy DrsCrossAccountKmsKeyUse\n");
            expect(out).to.include(`  runs as ${session}\n`);
            expect(out).to.include(
                `  ${web} (web-1), staging server s-aaaaaaaaaaaaaweb1 in ${staging}/${region}: replication CONTINUOUS\n`,
            );
            expect(out).to.include(`    on its entry's key: yes (${keyArn})\n`);
            expect(out).to.include(
                "    launch STARTED, instance type right-sizing BASIC, copy private IP no, copy tags yes, OS licence AWS-provided, post-launch actions off, EC2 launch template lt-0123456789abcdef0\n",
            );
            expect(out).to.match(
                /The drill: 1 job \(one per Region: us-east-1\) with 1 server, from the latest data .* up to 60 minutes \(--timeout\)\./,
            );
            expect(out).to.include(
                "Cost: AWS list prices (tools/pricing.ts). DRS's own charge is per replicating server-hour, which the drilled servers incur whether drilled or not (us-east-1: no DRS price in the table (--prices drsServerHour)).",
            );
            expect(out).to.match(
                /billed at EC2 and EBS rates while they exist, which the table does not hold .* up to 60 minutes \(--timeout\)/,
            );
            // One server per staging entry by default; the staging server's own settings were read in the staging account.
            expect(report.plan!.servers.map((s) => s.sourceServerID)).to.deep.equal([web]);
            expect(calls(w.m.stagingDrs, GetReplicationConfigurationCommand).map((i) => i.sourceServerID)).to.deep.equal([
                "s-aaaaaaaaaaaaaweb1",
            ]);
            // The role's ARN comes from GetRole (it has a path), and that is what is assumed.
            expect(w.identities).to.deep.equal([operatorArn]);
        });

        it("--count picks only healthy extended servers without a recovery instance, and says which it passed over", async () => {
            const w = world();
            const { report, out, code } = await runDrill(w, { count: 5 });
            expect(code).to.equal(0);
            expect(report.plan!.servers.map((s) => s.sourceServerID)).to.deep.equal([web, db]);
            expect(report.plan!.skipped.map((s) => [s.sourceServerID, s.reason])).to.deep.equal([
                ["s-1000000000stalled", "replication STALLED, not CONTINUOUS, INITIAL_SYNC, RESCAN"],
                ["s-1000000000exterr1", "stagingArea EXTENSION_ERROR: role gone"],
                ["s-100000000recinst1", "has a recovery instance already (i-0realrecovery0001)"],
            ]);
            expect(out).to.include(`note: Only 2 of 5 healthy extended servers from ${staging}/${region} to drill.`);
        });

        it("--count passes over a server whose staging server is not on the key; --server of it refuses to start (exit 2)", async () => {
            const servers = fleet();
            servers[0].encryption = { ebsEncryption: "DEFAULT" };
            const w = world({ servers });
            const picked = await runDrill(w);
            expect(picked.report.plan!.servers.map((s) => s.sourceServerID)).to.deep.equal([db]);
            expect(picked.report.plan!.skipped[0].reason).to.equal("not on its entry's key (DEFAULT (the AWS managed key aws/ebs))");

            const other = world({ servers });
            const named = await runDrill(other, { mode: "drill", servers: [web] });
            expect(named.code).to.equal(2);
            expect(named.out).to.include("    on its entry's key: NO, DEFAULT (the AWS managed key aws/ebs)\n");
            expect(named.out).to.include(`npm run -s align-servers -- -s <staging stack> --server s-aaaaaaaaaaaaaweb1 --apply`);
            expect(calls(other.m.drillDrs, StartRecoveryCommand)).to.have.length(0);
        });

        it("says 'not checked' when the staging account cannot be reached, and still plans (exit 0)", async () => {
            const w = world({ stagingUnreachable: true });
            const { code, out, report } = await runDrill(w);
            expect(code).to.equal(0);
            expect(report.plan!.servers[0].onKey).to.equal("not checked");
            expect(out).to.include(
                `    on its entry's key: not checked: cannot reach account ${staging}: the current credentials are for account ${target}, and the config names no roleArn for ${staging} (give a role with --staging-role, or run on a stack whose config names stagingAccounts[].roleArn).\n`,
            );
        });

        it("--server takes the target's ID or the staging server's, and refuses unknown IDs and a server with a recovery instance (exit 2)", async () => {
            const w = world();
            const byStagingId = await runDrill(w, { servers: ["s-aaaaaaaaaaaaaadb1"] });
            expect(byStagingId.code).to.equal(0);
            expect(byStagingId.report.plan!.servers.map((s) => s.sourceServerID)).to.deep.equal([db]);
            const bad = await runDrill(world(), { servers: ["s-100000000recinst1", "s-0000000000nothere"] });
            expect(bad.code).to.equal(2);
            expect(bad.out).to.include("--start would be refused:");
            expect(bad.out).to.include(
                "s-100000000recinst1 (recovered-1): it has a recovery instance already (i-0realrecovery0001), perhaps a real recovery",
            );
            expect(bad.out).to.include(
                `s-0000000000nothere: no server extended from the stack's staging accounts has this ID in the target ${target}`,
            );
        });
    });

    describe("the identity it runs as", () => {
        it("refuses to start as a role without the key-use policy, naming the reason (exit 2, nothing started)", async () => {
            const w = world();
            jobAnswers(w, job("COMPLETED", [launched(web, "i-0drill00000000001")]));
            const { code, out, err } = await runDrill(w, { mode: "drill", role: "Admin" });
            expect(code).to.equal(2);
            expect(calls(w.m.drillDrs, StartRecoveryCommand)).to.have.length(0);
            expect(out).to.include(
                "Identity: role Admin holds no key-use policy (DrsCrossAccountKmsKeyUse or DrsCrossAccountKmsKeyUse-<n>): KMS would refuse it the staging keys",
            );
            expect(out).to.include("or insist with --any-identity.");
            expect(err).not.to.include("Started drill job");
        });

        it("--any-identity overrides the refusal, with a warning", async () => {
            const w = world();
            jobAnswers(w, job("COMPLETED", [launched(web, "i-0drill00000000001")]));
            const { code, out, report } = await runDrill(w, { mode: "drill", role: "Admin", anyIdentity: true });
            expect(code).to.equal(0);
            expect(calls(w.m.drillDrs, StartRecoveryCommand)).to.have.length(1);
            expect(report.identity).to.include({ roleName: "Admin", holdsKeyUse: false, overridden: true });
            expect(out).to.include("  warning (--any-identity): role Admin holds no key-use policy");
            expect(out).to.include(`  runs as arn:aws:sts::${target}:assumed-role/Admin/drs-cross-account-kms-drill\n`);
            expect(w.identities[0]).to.equal(`arn:aws:iam::${target}:role/Admin`);
        });

        it("refuses a role missing one of the stack's key-use policies (a large fleet's -2)", async () => {
            const w = world();
            const { code, out } = await runDrill(
                w,
                {},
                { outputs: { ...outputs, targetKeyUsePolicyArns: [keyUsePolicyArn, `${keyUsePolicyArn}-2`] } },
            );
            expect(code).to.equal(2);
            expect(out).to.include(
                `role ${operator} holds DrsCrossAccountKmsKeyUse but not DrsCrossAccountKmsKeyUse-2: the keys in that policy would be refused.`,
            );
        });

        it("without keyUserRoleNames, runs as the current credentials and checks their Identity Center role", async () => {
            const w = world();
            const sso = "AWSReservedSSO_DrsOperators_0123456789abcdef";
            w.m.sts
                .on(GetCallerIdentityCommand)
                .resolves({ Account: target, Arn: `arn:aws:sts::${target}:assumed-role/${sso}/jane@example.com` });
            w.m.iam.on(GetRoleCommand).resolves({
                Role: {
                    RoleName: sso,
                    Arn: `arn:aws:iam::${target}:role/aws-reserved/sso.amazonaws.com/${sso}`,
                    RoleId: "AROASSOEXAMPLE000001",
                },
            } as never);
            w.m.iam.on(ListAttachedRolePoliciesCommand).resolves({ AttachedPolicies: [{ PolicyName: "DrsCrossAccountKmsKeyUse" }] });
            const settings = settingsWith(
                { keyUserRoleNames: [] },
                {
                    identityCenter: {
                        accountId: "999988887777",
                        region,
                        instanceArn: "arn:aws:sso:::instance/ssoins-0123456789abcdef",
                        permissionSetArns: ["arn:aws:sso:::permissionSet/ssoins-0123456789abcdef/ps-0123456789abcdef"],
                    },
                },
            );
            const { code, out, report } = await runDrill(w, {}, { settings });
            expect(code).to.equal(0);
            expect(w.identities).to.deep.equal([undefined]); // no role assumed
            expect(report.identity).to.include({ how: "current credentials", roleName: sso, holdsKeyUse: true });
            expect(out).to.include("Identity: your current credentials (target.keyUserRoleNames is empty");
            expect(out).to.include("Sign in with a permission set that references the key-use policies");
        });

        it("refuses credentials of another account, and a role that cannot be assumed", async () => {
            const other = world();
            other.m.sts
                .on(GetCallerIdentityCommand)
                .resolves({ Account: "999988887777", Arn: "arn:aws:sts::999988887777:assumed-role/Ops/me" });
            const wrong = await runDrill(other, { currentCredentials: true });
            expect(wrong.code).to.equal(2);
            expect(wrong.out).to.include(`Identity: the drill's credentials are for account 999988887777, not the target ${target}`);

            const w = world();
            w.access.identity = async () => {
                throw awsError(
                    "AccessDenied",
                    `User: arn:aws:sts::${target}:assumed-role/Me/x is not authorized to perform: sts:AssumeRole on resource: ${operatorArn}`,
                );
            };
            const { code, out } = await runDrill(w);
            expect(code).to.equal(2);
            expect(out).to.include(`Identity: cannot assume ${operatorArn} with your credentials (AccessDenied: User:`);
            expect(out).to.include("its trust policy must allow them, and they need sts:AssumeRole on it.");
        });
    });

    describe("--start", () => {
        it("a successful drill: StartRecovery as a drill with the tool's tags, progress on stderr, each server launched, clean-up (exit 0)", async () => {
            const w = world();
            jobAnswers(
                w,
                job("STARTED", [{ id: web, launch: "IN_PROGRESS" }]),
                job("COMPLETED", [launched(web, "i-0drill00000000001")], { endDateTime: new Date(started + 12 * 60_000).toISOString() }),
            );
            w.m.drillDrs
                .on(DescribeJobLogItemsCommand)
                .resolves({ items: [logItem("JOB_START"), logItem("SNAPSHOT_START", web), logItem("LAUNCH_START", web)] });
            const { code, out, err, report, clock } = await runDrill(w, { mode: "drill" });
            expect(code).to.equal(0);
            const [input] = calls(w.m.drillDrs, StartRecoveryCommand);
            expect(input).to.deep.equal({
                sourceServers: [{ sourceServerID: web }],
                isDrill: true,
                tags: { "drs-cross-account-kms:tool": "drill", "drs-cross-account-kms:stack": "target" },
            });
            // Started, as the assumed key-user role, and said how to clean up if stopped.
            expect(err).to.include(
                `Started drill job ${jobId} in us-east-1 (1 server) as ${session}. If this run is stopped, clean up with: npm run -s drill -- -s target --cleanup --job ${jobId}\n`,
            );
            expect(err).to.include(`[00:00] ${jobId} JOB_START\n`);
            expect(err).to.include(`[00:00] ${jobId} SNAPSHOT_START ${web}\n`);
            expect(err).to.include(`[00:30] ${jobId} job COMPLETED: ${web} LAUNCHED\n`);
            expect(clock.sleeps).to.deep.equal([30_000]);
            expect(out).to.include(
                `Drill job ${jobId} in us-east-1: COMPLETED, 12 min.\n  launched    ${web} (web-1): recovery instance i-0drill00000000001\n`,
            );
            expect(calls(w.m.drillDrs, TerminateRecoveryInstancesCommand)).to.deep.equal([
                { recoveryInstanceIDs: ["i-0drill00000000001"] },
            ]);
            expect(out).to.include("Clean-up: terminating i-0drill00000000001 (DRS job drsjob-terminate000000001).");
            expect(out).to.match(/1 launched, 0 failed\.\n$/);
            expect(report.diagnosis).to.deep.equal([]);
            expect(w.m.trail.calls()).to.have.length(0);
        });

        it("--keep leaves the instances running and says how to terminate them later", async () => {
            const w = world();
            jobAnswers(w, job("COMPLETED", [launched(web, "i-0drill00000000001")]));
            const { code, out } = await runDrill(w, { mode: "drill", keep: true });
            expect(code).to.equal(0);
            expect(calls(w.m.drillDrs, TerminateRecoveryInstancesCommand)).to.have.length(0);
            expect(out).to.include(
                `Kept (--keep): i-0drill00000000001. Terminate them when done: npm run -s drill -- -s target --cleanup --job ${jobId}`,
            );
        });

        it("a failed server: the job's own message, the refused kms:CreateGrant of a key-user role diagnosed to key.targetAccess ebs-shared-snapshots, clean-up (exit 1)", async () => {
            const w = world();
            jobAnswers(
                w,
                job("COMPLETED", [launched(web, "i-0drill00000000001"), { id: db, launch: "FAILED" }], {
                    endDateTime: new Date(started + 8 * 60_000).toISOString(),
                }),
            );
            w.m.drillDrs.on(DescribeJobLogItemsCommand).resolves({
                items: [logItem("LAUNCH_START", db), logItem("LAUNCH_FAILED", db, "Client.InternalError: Client error on launch")],
            });
            w.m.trail
                .on(LookupEventsCommand)
                .resolves({ Events: [...noise, refused("CreateGrant", session), refused("CreateGrant", session)] });
            const clock = fakeClock();
            clock.advance(10 * 60_000); // the job ended 2 minutes ago: CloudTrail has the events already
            const { code, out, report } = await runDrill(w, { mode: "drill", count: 2 }, { clock });
            expect(code).to.equal(1);
            expect(out).to.include(`  failed      ${db} (db-1): LAUNCH_FAILED: Client.InternalError: Client error on launch\n`);
            // Clean-up after the failure: the server that launched is terminated.
            expect(calls(w.m.drillDrs, TerminateRecoveryInstancesCommand)).to.deep.equal([
                { recoveryInstanceIDs: ["i-0drill00000000001"] },
            ]);
            // CloudTrail in the staging account, in the key's Region, the drill's window, KMS events.
            const [lookup] = calls(w.m.trail, LookupEventsCommand);
            expect(lookup.LookupAttributes).to.deep.equal([{ AttributeKey: "EventSource", AttributeValue: "kms.amazonaws.com" }]);
            expect(lookup.StartTime.toISOString()).to.equal("2025-03-01T09:59:05.000Z");
            const [d] = report.diagnosis;
            expect([d.accountId, d.region, d.status, d.scanned]).to.deep.equal([staging, region, "refusals", 4]);
            expect(d.refusals).to.have.length(1);
            const [r] = d.refusals;
            expect([r.action, r.count, r.principal, r.roleName, r.through]).to.deep.equal([
                "kms:CreateGrant",
                2,
                session,
                operator,
                "ec2.amazonaws.com",
            ]);
            expect(r.allowedBy).to.equal(
                "key.targetAccess: ebs-shared-snapshots (key policy statement AllowTargetAccountGrantsThroughEc2, and the key-use policy's UseDrsKeysThroughEc2UsEast1)",
            );
            expect(r.cause).to.include(
                `kms:CreateGrant was refused to ${operator} (in target.keyUserRoleNames): with key.targetAccess documented`,
            );
            expect(r.fix).to.include(
                "set key.targetAccess to ebs-shared-snapshots in every staging stack and the target stack (organization/drs-cross-account-kms/staging, target)",
            );
            expect(out).to.include("  kms:CreateGrant refused (AccessDenied) 2 times, 2025-03-01T10:06:00Z to 2025-03-01T10:06:00Z\n");
            expect(out).to.include(`    who: ${session}\n    through: ec2.amazonaws.com\n`);
            expect(out).to.include("    fix: Switch to the fallback: set key.targetAccess to ebs-shared-snapshots");
        });

        it("a refusal for a target role not in keyUserRoleNames is diagnosed to keyUserRoleNames", async () => {
            const w = world();
            jobAnswers(w, job("COMPLETED", [{ id: web, launch: "FAILED" }], { endDateTime: new Date(started + 5 * 60_000).toISOString() }));
            const stranger = `arn:aws:sts::${target}:assumed-role/NightShift/bob`;
            w.m.trail.on(LookupEventsCommand).resolves({ Events: [refused("ReEncrypt", stranger)] });
            const clock = fakeClock();
            clock.advance(30 * 60_000);
            const { code, report, out } = await runDrill(w, { mode: "drill", role: "Admin", anyIdentity: true }, { clock });
            expect(code).to.equal(1);
            const [r] = report.diagnosis[0].refusals;
            expect([r.action, r.roleName]).to.deep.equal(["kms:ReEncrypt", "NightShift"]);
            expect(r.cause).to.include(
                "was refused to the target role NightShift, which is not in target.keyUserRoleNames: it holds no key-use policy",
            );
            expect(r.fix).to.match(
                /^Add NightShift to drs-cross-account-kms:target\.keyUserRoleNames in the target stack \(target\) and `pulumi up` it, then drill as it \(--role NightShift\)/,
            );
            expect(r.fix).to.include("or use identityCenter for people who sign in through IAM Identity Center.");
            expect(r.allowedBy).to.equal(
                "target.keyUserRoleNames (the key-use policy DrsCrossAccountKmsKeyUse, statement UseDrsKeysThroughEc2UsEast1)",
            );
            expect(out).to.include("fix: Add NightShift");
        });

        it("no events yet: says CloudTrail has nothing yet and how to re-run only the diagnosis", async () => {
            const w = world();
            jobAnswers(w, job("COMPLETED", [{ id: web, launch: "FAILED" }], { endDateTime: new Date(started + 3 * 60_000).toISOString() }));
            w.m.trail.on(LookupEventsCommand).resolves({ Events: noise });
            const { code, report, out } = await runDrill(w, { mode: "drill" });
            expect(code).to.equal(1);
            expect(report.diagnosis[0].status).to.equal("none-yet");
            expect(out).to.include(
                `CloudTrail has nothing yet: no refused KMS call on the key among 2 KMS events so far. Events take minutes to arrive (about 5, up to 15). Re-run only the diagnosis in a few minutes: npm run -s drill -- -s target --diagnose --job ${jobId}`,
            );
        });

        it("says when CloudTrail cannot be read, and how to give a role for it", async () => {
            const w = world({ stagingUnreachable: true });
            jobAnswers(w, job("COMPLETED", [{ id: web, launch: "FAILED" }]));
            const { report } = await runDrill(w, { mode: "drill" });
            expect(report.diagnosis[0].status).to.equal("not-checked");
            expect(report.diagnosis[0].note).to.match(
                /^Not checked: cannot reach account 444455556666: .* Give a role in 444455556666 that may call cloudtrail:LookupEvents with --staging-role/,
            );
        });

        it("timeout: servers still launching are reported timed out, what launched is terminated, the job is said to be still running (exit 1)", async () => {
            const w = world();
            jobAnswers(w, job("STARTED", [launched(web, "i-0drill00000000001"), { id: db, launch: "IN_PROGRESS" }]));
            const { code, out, report, clock } = await runDrill(w, { mode: "drill", count: 2, timeoutMinutes: 2 });
            expect(code).to.equal(1);
            expect(clock.sleeps).to.deep.equal([30_000, 30_000, 30_000, 30_000]);
            expect(report.results.map((r) => [r.sourceServerID, r.status])).to.deep.equal([
                [web, "launched"],
                [db, "timed out"],
            ]);
            expect(out).to.include(`  timed out   ${db} (db-1): still IN_PROGRESS after 2 minutes\n`);
            expect(calls(w.m.drillDrs, TerminateRecoveryInstancesCommand)).to.deep.equal([
                { recoveryInstanceIDs: ["i-0drill00000000001"] },
            ]);
            expect(out).to.include(
                `Job ${jobId} may still launch servers after this run: run npm run -s drill -- -s target --cleanup --job ${jobId} once it ends.`,
            );
            expect(out).to.match(/1 launched, 0 failed, 1 timed out\.\n$/);
        });

        it("Ctrl-C (the abort signal): stops following, cleans up what launched, even one that launched meanwhile (exit 1)", async () => {
            const w = world();
            const controller = new AbortController();
            let reads = 0;
            w.m.drillDrs.on(DescribeJobsCommand).callsFake(async () => {
                reads++;
                if (reads === 2) controller.abort(); // Ctrl-C while the job runs
                // From the third read on (the clean-up's), db has launched too.
                const servers =
                    reads < 3
                        ? [launched(web, "i-0drill00000000001"), { id: db, launch: "IN_PROGRESS" }]
                        : [launched(web, "i-0drill00000000001"), launched(db, "i-0drill00000000002")];
                return { items: [job("STARTED", servers)] };
            });
            const { code, out, report } = await runDrill(w, { mode: "drill", count: 2 }, { signal: controller.signal });
            expect(code).to.equal(1);
            expect(report.results.map((r) => r.status)).to.deep.equal(["launched", "interrupted"]);
            expect(calls(w.m.drillDrs, TerminateRecoveryInstancesCommand)).to.deep.equal([
                { recoveryInstanceIDs: ["i-0drill00000000001", "i-0drill00000000002"] },
            ]);
            expect(out).to.include(`  interrupted ${db} (db-1): stopped by Ctrl-C while IN_PROGRESS\n`);
            expect(w.m.trail.calls()).to.have.length(0); // no diagnosis after Ctrl-C: --diagnose later
        });

        it("an interrupt before the start starts nothing (exit 2)", async () => {
            const w = world();
            const controller = new AbortController();
            controller.abort();
            const { code, out } = await runDrill(w, { mode: "drill" }, { signal: controller.signal });
            expect(code).to.equal(2);
            expect(out).to.include("Interrupted before the drill started: nothing was started.");
            expect(calls(w.m.drillDrs, StartRecoveryCommand)).to.have.length(0);
        });

        it("prints what was left when the clean-up itself fails (exit 1)", async () => {
            const w = world();
            jobAnswers(w, job("COMPLETED", [launched(web, "i-0drill00000000001")]));
            w.m.drillDrs
                .on(TerminateRecoveryInstancesCommand)
                .rejects(awsError("AccessDeniedException", "not authorized to perform: drs:TerminateRecoveryInstances"));
            const { out, report, code } = await runDrill(w, { mode: "drill" });
            expect(code).to.equal(1); // the server launched, but its instance is still running
            expect(report.cleanup!.left).to.deep.equal([
                {
                    recoveryInstanceID: "i-0drill00000000001",
                    sourceServerID: web,
                    region,
                    error: "AccessDeniedException: not authorized to perform: drs:TerminateRecoveryInstances",
                },
            ]);
            expect(out).to.include(
                "Clean-up failed: left running:\n  i-0drill00000000001 (s-1000000000000web1) in us-east-1: AccessDeniedException",
            );
            expect(out).to.include(
                `Terminate them in the DRS console (Recovery instances), or: npm run -s drill -- -s target --cleanup --job ${jobId}`,
            );
            expect(out).to.match(/1 launched, 0 failed\. Clean-up left 1 recovery instance running \(above\)\.\n$/);
        });

        it("a refused StartRecovery could not run (exit 2)", async () => {
            const w = world();
            w.m.drillDrs
                .on(StartRecoveryCommand)
                .rejects(awsError("AccessDeniedException", "not authorized to perform: drs:StartRecovery"));
            const { code, out } = await runDrill(w, { mode: "drill" });
            expect(code).to.equal(2);
            expect(out).to.include(
                "us-east-1: StartRecovery was refused: AccessDeniedException: not authorized to perform: drs:StartRecovery",
            );
            expect(calls(w.m.drillDrs, TerminateRecoveryInstancesCommand)).to.have.length(0);
        });

        it("--json: one JSON document on stdout, progress on stderr", async () => {
            const w = world();
            jobAnswers(w, job("COMPLETED", [launched(web, "i-0drill00000000001")]));
            const { out, err } = await runDrill(w, { mode: "drill", json: true });
            const doc = JSON.parse(out);
            expect(Object.keys(doc)).to.deep.equal([
                "mode",
                "stack",
                "targetAccountId",
                "targetAccess",
                "blockers",
                "jobs",
                "results",
                "diagnosis",
                "exitCode",
                "plan",
                "identity",
                "cleanup",
            ]);
            expect([doc.mode, doc.exitCode, doc.results[0].status, doc.cleanup.terminated]).to.deep.equal([
                "drill",
                0,
                "launched",
                ["i-0drill00000000001"],
            ]);
            expect(err).to.include("Started drill job");
        });
    });

    describe("--cleanup --job and --diagnose --job", () => {
        it("--cleanup --job terminates the recovery instances the job's servers launched (exit 0)", async () => {
            const w = world();
            jobAnswers(
                w,
                job("COMPLETED", [
                    launched(web, "i-0drill00000000001"),
                    launched(db, "i-0drill00000000002"),
                    { id: "s-x", launch: "FAILED" },
                ]),
            );
            const { code, out } = await runDrill(w, { mode: "cleanup", jobs: [jobId] });
            expect(code).to.equal(0);
            expect(calls(w.m.drillDrs, DescribeJobsCommand)[0]).to.deep.equal({ filters: { jobIDs: [jobId] } });
            expect(calls(w.m.drillDrs, TerminateRecoveryInstancesCommand)).to.deep.equal([
                { recoveryInstanceIDs: ["i-0drill00000000001", "i-0drill00000000002"] },
            ]);
            expect(out).to.include("Clean-up: terminating i-0drill00000000001, i-0drill00000000002 (DRS job drsjob-terminate000000001).");
            expect(out).to.match(/Clean-up done\.\n$/);
            expect(calls(w.m.drillDrs, StartRecoveryCommand)).to.have.length(0);
        });

        it("--cleanup refuses a job this command's drill did not start: its instances may be a real recovery's (exit 2)", async () => {
            const w = world();
            jobAnswers(w, job("COMPLETED", [launched(web, "i-0realrecovery0001")], { tags: {}, initiatedBy: "START_RECOVERY" }));
            const { code, out } = await runDrill(w, { mode: "cleanup", jobs: [jobId] });
            expect(code).to.equal(2);
            expect(out).to.include(
                `Job ${jobId} was not started by this command's drill (no tag drs-cross-account-kms:tool=drill; initiated by START_RECOVERY)`,
            );
            expect(calls(w.m.drillDrs, TerminateRecoveryInstancesCommand)).to.have.length(0);
        });

        it("--cleanup of a job that is not found (exit 2)", async () => {
            const w = world();
            w.m.drillDrs.on(DescribeJobsCommand).resolves({ items: [] });
            const { code, out } = await runDrill(w, { mode: "cleanup", jobs: ["drsjob-nothere"] });
            expect(code).to.equal(2);
            expect(out).to.include(`Job drsjob-nothere: not found in the target ${target} in us-east-1.`);
        });

        it("--diagnose --job: the job's results and the KMS refusals of its window", async () => {
            const w = world();
            jobAnswers(w, job("COMPLETED", [{ id: db, launch: "FAILED" }], { endDateTime: new Date(started + 5 * 60_000).toISOString() }));
            w.m.drillDrs.on(DescribeJobLogItemsCommand).resolves({ items: [logItem("SNAPSHOT_FAIL", db, "Failed to take snapshot")] });
            const slr = `arn:aws:sts::${staging}:assumed-role/AWSServiceRoleForElasticDisasterRecovery/drs-session`;
            w.m.trail.on(LookupEventsCommand).resolves({ Events: [refused("GenerateDataKeyWithoutPlaintext", slr)] });
            const clock = fakeClock();
            clock.advance(60 * 60_000);
            const { code, out, report } = await runDrill(w, { mode: "diagnose", jobs: [jobId] }, { clock });
            expect(code).to.equal(1);
            expect(report.results).to.deep.equal([
                {
                    sourceServerID: db,
                    hostname: "db-1",
                    region,
                    jobID: jobId,
                    status: "failed",
                    recoveryInstanceID: undefined,
                    message: "SNAPSHOT_FAIL: Failed to take snapshot",
                },
            ]);
            const [lookup] = calls(w.m.trail, LookupEventsCommand);
            expect([lookup.StartTime.toISOString(), lookup.EndTime.toISOString()]).to.deep.equal([
                "2025-03-01T09:55:05.000Z",
                "2025-03-01T10:10:00.000Z",
            ]);
            const [r] = report.diagnosis[0].refusals;
            expect(r.cause).to.include(
                "refused to the staging account's DRS service-linked role, which the program's key policy allows (AllowStagingDrsServiceRoleUseThroughEc2): the key policy drifted.",
            );
            expect(r.fix).to.equal("The key policy drifted: run verify on the staging stack (its key-policy check), then `pulumi up` it.");
            expect(out).to.include(`  failed      ${db} (db-1): SNAPSHOT_FAIL: Failed to take snapshot`);
            expect(calls(w.m.drillDrs, StartRecoveryCommand)).to.have.length(0);
            expect(calls(w.m.drillDrs, TerminateRecoveryInstancesCommand)).to.have.length(0);
        });
    });

    describe("the KMS diagnosis, case by case (statements from the program's own policy builders)", () => {
        const ctx = (changes: Partial<DiagnosisContext> = {}): DiagnosisContext => ({
            target,
            stagingAccount: staging,
            region,
            keyArn,
            targetAccess: "documented",
            keyUserRoleNames: [operator],
            identityCenter: false,
            stagingStacks: ["organization/drs-cross-account-kms/staging"],
            deploy: "target",
            stack: "target",
            knownRoleIds: new Map(),
            stagingRoleArn: key.stagingRoleArn,
            ...changes,
        });
        const record = (eventName: string, arn: string, extra: Partial<TrailRecord> = {}): TrailRecord => ({
            ...(JSON.parse(refused(eventName, arn).CloudTrailEvent) as TrailRecord),
            ...extra,
        });
        const one = (r: TrailRecord, c = ctx()) => {
            const found = explainAll([r], c);
            expect(found).to.have.length(1);
            return found[0];
        };
        const stagingSlr = `arn:aws:sts::${staging}:assumed-role/AWSServiceRoleForElasticDisasterRecovery/s`;
        const stagingRole = `arn:aws:sts::${staging}:assumed-role/DRSStagingAccountRole_${target}/s`;

        it("Decrypt and GenerateDataKey* of a key-user role with documented: the fallback, with the statement that allows it", () => {
            for (const eventName of ["Decrypt", "GenerateDataKeyWithoutPlaintext"]) {
                const r = one(record(eventName, session));
                expect(r.fix, eventName).to.match(/^Switch to the fallback: set key\.targetAccess to ebs-shared-snapshots/);
                expect(r.allowedBy).to.equal(
                    "key.targetAccess: ebs-shared-snapshots (key policy statement AllowTargetAccountUseThroughEc2, and the key-use policy's UseDrsKeysThroughEc2UsEast1)",
                );
            }
        });

        it("an action the program allows (ReEncrypt with documented, CreateGrant with ebs-shared-snapshots): drift or another deny", () => {
            const reEncrypt = one(record("ReEncrypt", session));
            expect(reEncrypt.allowedBy).to.equal(
                "key policy statement AllowTargetAccountReEncryptThroughEc2 and the key-use policy's UseDrsKeysThroughEc2UsEast1",
            );
            expect(reEncrypt.cause).to.include("one of them drifted or is not attached to the role, or something else denies it");
            const grant = one(record("CreateGrant", session), ctx({ targetAccess: "ebs-shared-snapshots" }));
            expect(grant.allowedBy).to.equal(
                "key policy statement AllowTargetAccountGrantsThroughEc2 and the key-use policy's UseDrsKeysThroughEc2UsEast1",
            );
            expect(grant.fix).not.to.include("Switch to the fallback");
        });

        it("the staging DRS service-linked role or DRSStagingAccountRole refused what the key policy allows: the key policy drifted", () => {
            for (const [eventName, arn, sid] of [
                ["CreateGrant", stagingSlr, "AllowStagingDrsServiceRoleGrantsThroughEc2"],
                ["Decrypt", stagingSlr, "AllowStagingDrsServiceRoleUseThroughEc2"],
                ["ReEncrypt", stagingRole, "AllowDrsStagingAccountRoleReEncryptThroughEc2"],
            ]) {
                const r = one(record(eventName, arn));
                expect(r.allowedBy, eventName).to.equal(`key policy statement ${sid}`);
                expect(r.fix).to.match(
                    /^The key policy drifted: run verify on the staging stack \(its key-policy check\), then `pulumi up` it/,
                );
            }
            const notGranted = one(record("Decrypt", stagingRole));
            expect(notGranted.cause).to.include(
                `was refused to DRSStagingAccountRole_${target}: the program's key policy grants it no such action`,
            );
            expect(notGranted.allowedBy).to.equal(undefined);
        });

        it("the target's own DRS service-linked role, a direct call, an Identity Center role without identityCenter, another account", () => {
            const slr = one(record("CreateGrant", `arn:aws:sts::${target}:assumed-role/AWSServiceRoleForElasticDisasterRecovery/s`));
            expect(slr.cause).to.include("IAM cannot give a service-linked role permissions");
            expect(slr.fix).to.include("report it with the event (sharedEventID shared-CreateGrant)");
            const direct = one(
                record("Decrypt", session, { sourceIPAddress: "203.0.113.7", userIdentity: { arn: session, accountId: target } }),
            );
            expect([direct.through, direct.cause]).to.deep.equal([
                "directly, from 203.0.113.7",
                `kms:Decrypt was called directly (directly, from 203.0.113.7), not through ec2.${region}.amazonaws.com: the program lets the target use the key only through EC2 in the key's Region (kms:ViaService).`,
            ]);
            const sso = one(record("CreateGrant", `arn:aws:sts::${target}:assumed-role/AWSReservedSSO_Ops_0123456789abcdef/jane`));
            expect(sso.allowedBy).to.equal("identityCenter.permissionSetArns (the permission set references the key-use policies)");
            const stranger = one(record("Decrypt", "arn:aws:sts::999988887777:assumed-role/X/y"));
            expect(stranger.cause).to.include("neither the target nor the staging account");
        });

        it("names a role from its unique ID when the record gives only a principalId; leaves out records without an errorCode", () => {
            const r = one(
                {
                    ...record("Decrypt", session),
                    userIdentity: { type: "AssumedRole", principalId: `${operatorRoleId}:drs-cross-account-kms-drill`, accountId: target },
                    errorMessage: undefined,
                },
                ctx({ knownRoleIds: new Map([[operatorRoleId, operator]]) }),
            );
            expect([r.roleName, r.principal]).to.deep.equal([operator, `role ${operator} of ${target}`]);
            expect(r.fix).to.match(/^Switch to the fallback/);
        });
    });

    describe("CloudTrail pacing", () => {
        it("LookupEvents is called at most twice a second, over every page (fake clock)", async () => {
            const w = world();
            jobAnswers(w, job("COMPLETED", [{ id: web, launch: "FAILED" }]));
            const clock = fakeClock();
            const times: number[] = [];
            w.m.trail.on(LookupEventsCommand).callsFake(async (input: { NextToken?: string }) => {
                times.push(clock.clock.now());
                const page = Number(input.NextToken ?? "0");
                return { Events: [noise[0]], NextToken: page < 4 ? String(page + 1) : undefined };
            });
            await runDrill(w, { mode: "drill" }, { clock });
            expect(lookupEventsIntervalMs).to.be.at.least(500);
            expect(times).to.have.length(5);
            const gaps = times.slice(1).map((t, i) => t - times[i]);
            for (const gap of gaps) expect(gap).to.be.at.least(500); // two requests a second
            expect(calls(w.m.trail, LookupEventsCommand).map((i) => i.NextToken)).to.deep.equal([undefined, "1", "2", "3", "4"]);
        });

        it("the pacer waits only what is left of the interval", async () => {
            const { clock, sleeps, advance } = fakeClock();
            const pace = pacer(clock, 500);
            await pace();
            advance(200);
            await pace();
            await pace();
            expect(sleeps).to.deep.equal([300, 500]);
        });
    });

    it("never recovers: every StartRecovery this suite sent, in every mode, had isDrill true", async () => {
        for (const options of [
            { mode: "drill" },
            { mode: "drill", count: 2, keep: true },
            { mode: "drill", role: "Admin", anyIdentity: true },
        ] as const) {
            const w = world();
            jobAnswers(w, job("COMPLETED", [launched(web, "i-0drill00000000001")]));
            await runDrill(w, options);
        }
        for (const mode of ["dry-run", "cleanup", "diagnose"] as const) {
            const w = world();
            jobAnswers(w, job("COMPLETED", [launched(web, "i-0drill00000000001")]));
            await runDrill(w, { mode, jobs: mode === "dry-run" ? undefined : [jobId] });
            expect(calls(w.m.drillDrs, StartRecoveryCommand), mode).to.have.length(0);
        }
        expect(allStartRecoveryInputs.length).to.be.at.least(3);
        for (const input of allStartRecoveryInputs) expect(input).to.have.property("isDrill", true);
        expect(drillRequest(["s-1"], "target").isDrill).to.equal(true);
    });

    it("calls exactly the actions its help names as permissions", async () => {
        const w = world();
        jobAnswers(w, job("COMPLETED", [launched(web, "i-0drill00000000001"), { id: db, launch: "FAILED" }]));
        w.m.trail.on(LookupEventsCommand).resolves({ Events: [] });
        await runDrill(w, { mode: "drill", count: 2 });
        await runDrill(w, { mode: "cleanup", jobs: [jobId] });
        const actions = (prefix: string, m: World["m"][keyof World["m"]]) =>
            m.calls().map((c) => `${prefix}:${(c.args[0] as object).constructor.name.replace(/Command$/, "")}`);
        const called = (...list: [string, World["m"][keyof World["m"]]][]) => [...new Set(list.flatMap(([p, m]) => actions(p, m)))].sort();
        expect(called(["drs", w.m.targetDrs], ["iam", w.m.iam])).to.deep.equal([...permissions.target].sort());
        expect(called(["drs", w.m.drillDrs])).to.deep.equal([...permissions.identity].sort());
        expect(called(["drs", w.m.stagingDrs], ["cloudtrail", w.m.trail])).to.deep.equal([...permissions.staging].sort());
        expect(called(["sts", w.m.sts])).to.deep.equal(["sts:GetCallerIdentity"]); // needs no permission
        expect(w.identities.filter(Boolean).length).to.be.greaterThan(0); // sts:AssumeRole, through the access
        const help = drillHelp();
        for (const p of [...permissions.target, ...permissions.assume, ...permissions.identity, ...permissions.staging])
            expect(help).to.include(p);
        expect(help).to.include("AWSElasticDisasterRecoveryConsoleFullAccess_v2");
    });
});

describe("drill's AWS access", () => {
    const assumed = () => {
        const sts = new STSClient({ region });
        const stsMock = mockClient(sts);
        let n = 0;
        stsMock.on(AssumeRoleCommand).callsFake(async () => ({
            Credentials: {
                AccessKeyId: `AKIA${++n}`,
                SecretAccessKey: "s",
                SessionToken: `t${n}`,
                Expiration: new Date(Date.now() + (n === 1 ? 60_000 : 3_600_000)),
            },
        }));
        return { sts, stsMock };
    };

    it("the drill identity: the role assumed with the current credentials, session named after the command, renewed before it expires", async () => {
        const { sts, stsMock } = assumed();
        const access = new AssumedRoleAccess(new Map([[target, undefined]]), "drill", sts);
        const { drs } = await access.identity(operatorArn, region);
        expect(
            stsMock.commandCalls(AssumeRoleCommand).map((c) => [c.args[0].input.RoleArn, c.args[0].input.RoleSessionName]),
        ).to.deep.equal([[operatorArn, "drs-cross-account-kms-drill"]]);
        expect(await drs.config.region()).to.equal(region);
        // The first credentials expire within a minute: the next ask assumes the role again.
        expect(await drs.config.credentials()).to.include({ accessKeyId: "AKIA2", sessionToken: "t2" });
        expect(stsMock.commandCalls(AssumeRoleCommand)).to.have.length(2);
    });

    it("a role that cannot be assumed fails at once", async () => {
        const sts = new STSClient({ region });
        mockClient(sts).on(AssumeRoleCommand).rejects(awsError("AccessDenied", "not authorized to perform: sts:AssumeRole"));
        const access = new AssumedRoleAccess(new Map([[target, undefined]]), "drill", sts);
        let error: Error | undefined;
        try {
            await access.identity(operatorArn, region);
        } catch (err) {
            error = err as Error;
        }
        expect(error?.name).to.equal("AccessDenied");
    });

    it("CloudTrail per staging account and Region, with that account's role", async () => {
        const { sts, stsMock } = assumed();
        const access = new AssumedRoleAccess(new Map([[staging, `arn:aws:iam::${staging}:role/DrsReadOnly`]]), "drill", sts);
        const trail = await access.cloudTrail(staging, "eu-west-1");
        expect(await trail.config.region()).to.equal("eu-west-1");
        expect(stsMock.commandCalls(AssumeRoleCommand)[0].args[0].input.RoleArn).to.equal(`arn:aws:iam::${staging}:role/DrsReadOnly`);
        expect((await trail.config.credentials()).accessKeyId).to.equal("AKIA1");
    });
});

describe("drill command line", () => {
    const cli = (...args: string[]) => spawnCli("drill", ...args);

    it("--help: usage, every flag with an example, the permissions per account, the exit codes (exit 0)", () => {
        const r = cli("--help");
        expect(r.status, r.stderr).to.equal(0);
        expect(r.stdout).to.match(/^Usage: drs-cross-account-kms drill -s <stack> \[options\]\n/);
        const flags = [
            "--stack",
            "--outputs",
            "--server",
            "--count",
            "--start",
            "--role",
            "--current-credentials",
            "--any-identity",
            "--timeout",
            "--keep",
            "--cleanup",
            "--diagnose",
            "--job",
            "--staging-role",
            "--target",
            "--json",
            "--config-file",
        ];
        const examples = r.stdout.split("Examples, one per flag:")[1].split("\n\n")[0];
        for (const flag of flags) {
            expect(r.stdout, flag).to.match(new RegExp(`^  (-s, )?${flag}\\b`, "m"));
            if (flag !== "--stack") expect(examples, flag).to.include(flag);
        }
        for (const text of [
            "  target account, with target.roleArn or your credentials:\n    drs:DescribeSourceServers, drs:GetLaunchConfiguration, iam:GetRole, iam:ListAttachedRolePolicies\n",
            "  your credentials: sts:AssumeRole on the key-user role",
            "  the drill identity (the key-user role), in the target account:\n    drs:StartRecovery, drs:DescribeJobs, drs:DescribeJobLogItems, drs:TerminateRecoveryInstances,\n",
            "AWSElasticDisasterRecoveryConsoleFullAccess_v2",
            "  each staging account (stagingAccounts[].roleArn, --staging-role, or your credentials):\n    drs:DescribeSourceServers, drs:GetReplicationConfiguration, cloudtrail:LookupEvents\n",
            "Exit codes: 0 a dry run, or every drilled server launched, 1 a server failed or timed out, 2 could not run",
        ]) {
            expect(r.stdout).to.include(text);
        }
    });

    it("a bad flag, and contradicting flags, exit 2 with one line", async () => {
        const bad = cli("-s", "target", "--strat");
        expect([bad.status, bad.stdout, bad.stderr]).to.deep.equal([2, "", "error: unknown option '--strat' (did you mean --start?)\n"]);
        for (const [args, message] of [
            [["--start", "--cleanup", "--job", "j"], "error: --start and --cleanup contradict each other: give one.\n"],
            [["--cleanup"], "error: --cleanup needs --job <jobID>: the job ID the drill printed.\n"],
            [["--count", "0"], "error: --count 0: give a whole number of servers per staging entry, 1 or more.\n"],
            [["--server", "s-1", "--count", "2"], "error: --server and --count contradict each other: give one.\n"],
            [["--keep"], "error: --keep goes with --start.\n"],
        ] as const) {
            let out = "";
            let err = "";
            const code = await runCli(["drill", "-s", "target", ...args], {
                workspace: null,
                io: { out: (t) => void (out += t), err: (t) => void (err += t) },
            });
            expect([code, out, err], args.join(" ")).to.deep.equal([2, "", message]);
        }
    });

    it("runs the plan end to end from --outputs and the stack file, with --staging-role for the staging account", async () => {
        const w = world();
        const dir = fs.mkdtempSync(path.join(os.tmpdir(), "drs-drill-"));
        fs.writeFileSync(path.join(dir, "Pulumi.yaml"), "name: drs-cross-account-kms\nruntime: nodejs\n");
        fs.writeFileSync(
            path.join(dir, "Pulumi.target.yaml"),
            `config:\n  drs-cross-account-kms:deploy: target\n  drs-cross-account-kms:target:\n    accountId: "${target}"\n    keyUserRoleNames: [${operator}]\n  drs-cross-account-kms:stagingStacks: [staging]\n`,
        );
        const outputsFile = path.join(dir, "outputs.json");
        fs.writeFileSync(outputsFile, JSON.stringify(outputs));
        let roles: Map<string, string | undefined> | undefined;
        let out = "";
        let err = "";
        const code = await runCli(
            ["drill", "-s", "target", "--outputs", outputsFile, "--staging-role", `arn:aws:iam::${staging}:role/DrsReadOnly`],
            {
                workspace: null,
                projectDir: dir,
                progressDelayMs: 0,
                io: { out: (t) => void (out += t), err: (t) => void (err += t) },
                access: (roleArns, command) => {
                    roles = roleArns;
                    expect(command).to.equal("drill");
                    return w.access;
                },
            },
        );
        expect(code, err).to.equal(0);
        expect(roles?.get(staging)).to.equal(`arn:aws:iam::${staging}:role/DrsReadOnly`);
        expect(out).to.include("Dry run: nothing is started.");
        expect(out).to.include(`on its entry's key: yes (${keyArn})`);
        expect(calls(w.m.drillDrs, StartRecoveryCommand)).to.have.length(0);
    });

    it("drills the target --target names in a stack of several targets, with its roles, policies and staging role; refuses to guess", async () => {
        const w = world();
        const other = "999988887777";
        const dir = fs.mkdtempSync(path.join(os.tmpdir(), "drs-drill-"));
        fs.writeFileSync(path.join(dir, "Pulumi.yaml"), "name: drs-cross-account-kms\nruntime: nodejs\n");
        fs.writeFileSync(
            path.join(dir, "Pulumi.all.yaml"),
            "config:\n  drs-cross-account-kms:targets:\n" +
                `    - { accountId: "${other}", keyUserRoleNames: [OtherOperator] }\n` +
                `    - { accountId: "${target}", keyUserRoleNames: [${operator}] }\n` +
                `  drs-cross-account-kms:stagingAccounts:\n    - { accountId: "${staging}", region: ${region}, roleArn: "arn:aws:iam::${staging}:role/Deploy", replication: { stagingAreaSubnetId: subnet-0123456789abcdef0 } }\n`,
        );
        const otherPolicy = `arn:aws:iam::${other}:policy/DrsCrossAccountKmsKeyUse`;
        const outputsFile = path.join(dir, "outputs.json");
        fs.writeFileSync(
            outputsFile,
            JSON.stringify({
                deploy: "all",
                // The first target's, as the program exports them with several targets.
                targetAccountId: other,
                targetAccountIds: [other, target],
                targetAccess: "documented",
                stagingKeys: [
                    {
                        ...key,
                        stagingRoleArn: `arn:aws:iam::${staging}:role/service-role/DRSStagingAccountRole_${other}`,
                        targetAccountIds: [other, target],
                        stagingRoleArns: {
                            [other]: `arn:aws:iam::${staging}:role/service-role/DRSStagingAccountRole_${other}`,
                            [target]: key.stagingRoleArn,
                        },
                    },
                ],
                targetKeyUsePolicyArns: [otherPolicy],
                targetKeyUserRoleNames: ["OtherOperator"],
                targetKeyAccess: [
                    { accountId: other, policyArns: [otherPolicy], roleNames: ["OtherOperator"] },
                    { accountId: target, policyArns: [keyUsePolicyArn], roleNames: [operator] },
                ],
            }),
        );
        let accessed = 0;
        const drillAll = async (...args: string[]) => {
            let [out, err] = ["", ""];
            const code = await runCli(["drill", "-s", "all", "--outputs", outputsFile, "--json", ...args], {
                workspace: null,
                projectDir: dir,
                progressDelayMs: 0,
                io: { out: (t) => void (out += t), err: (t) => void (err += t) },
                access: () => (accessed++, w.access),
            });
            return { code, out, err };
        };
        const drilled = await drillAll("--target", target);
        expect(drilled.code, drilled.err).to.equal(0);
        const report = JSON.parse(drilled.out) as DrillReport;
        expect([report.targetAccountId, report.identity?.roleArn]).to.deep.equal([target, operatorArn]);
        expect(report.plan!.servers.map((s) => s.onKey)).to.deep.equal(["yes"]);
        expect(await drillAll()).to.deep.include({
            code: 2,
            err: `error: stack all recovers into 2 targets (${other}, ${target}): give --target <account> to drill one.\n`,
        });
        expect(await drillAll("--target", "123456789012")).to.deep.include({
            code: 2,
            err: `error: --target 123456789012: not a target of stack all (${other}, ${target}).\n`,
        });
        // Both refused before any AWS client was made: only the first run reached AWS.
        expect(accessed).to.equal(1);
    });
});
