import { LookupEventsCommand } from "@aws-sdk/client-cloudtrail";
import {
    DescribeJobLogItemsCommand,
    DescribeJobsCommand,
    GetReplicationConfigurationCommand,
    StartRecoveryCommand,
    TerminateRecoveryInstancesCommand,
} from "@aws-sdk/client-drs";
import { DescribeVolumesCommand } from "@aws-sdk/client-ec2";
import { GetRoleCommand, ListAttachedRolePoliciesCommand } from "@aws-sdk/client-iam";
import { AssumeRoleCommand, GetCallerIdentityCommand, STSClient } from "@aws-sdk/client-sts";
import { mockClient } from "aws-sdk-client-mock";
import { expect } from "chai";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { AssumedRoleAccess } from "../../ops/aws/access";
import { run as runCli } from "../../cli";
import { Deadline, pacer } from "../../ops/clock";
import { DrillReport, drillCost, drillHelp, drillRequest } from "../../ops/drill";
import { commandPermissions } from "../../ops/permissions";
import { pricesWith } from "../../plan/pricing";
import { DiagnosisContext, TrailRecord, explainAll, lookupEventsIntervalMs } from "../../ops/drill/diagnosis";
import { spawnCli } from "../support/mocks";
import {
    World,
    allStartRecoveryInputs,
    awsError,
    calls,
    db,
    fakeClock,
    fleet,
    job,
    jobAnswers,
    jobId,
    key,
    keyArn,
    keyUsePolicyArn,
    launched,
    logItem,
    noise,
    operator,
    operatorArn,
    operatorRoleId,
    outputs,
    refused,
    region,
    runDrill,
    runId,
    session,
    settingsWith,
    staging,
    started,
    target,
    targetKeyArn,
    web,
    world,
} from "../support/drillWorld";

describe("drill", () => {
    it("estimates its cost from the price table: DRS per server-hour in each Region, the rest at EC2 and EBS rates", () => {
        const prices = pricesWith({ drsServerHour: { "us-east-1": 0.03 } });
        const cost = drillCost(prices, [{ region: "us-east-1" }, { region: "us-east-1" }, { region: "eu-west-1" }], 90, true);
        expect(cost).to.include(
            "(eu-west-1: no DRS price in the table (--prices drsServerHour); us-east-1: 2 servers x $0.03 an hour = $0.06 an hour)",
        );
        expect(cost).to.include("up to 90 minutes (--timeout) plus the clean-up, and longer: --keep leaves them running.");
        expect(cost).to.match(/^AWS list prices, with the figures of a --prices file \(plan\/pricing.ts\)/);
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
                "Cost: AWS list prices (plan/pricing.ts). DRS's own charge is per replicating server-hour, which the drilled servers incur whether drilled or not (us-east-1: no DRS price in the table (--prices drsServerHour)).",
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

        it("says 'not checked' when the staging account cannot be reached, and still plans (exit 3: never a pass)", async () => {
            const w = world({ stagingUnreachable: true });
            const { code, out, report } = await runDrill(w);
            expect(code).to.equal(3);
            expect(report.unchecked).to.have.length(1);
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
                tags: {
                    "drs-cross-account-kms:tool": "drill",
                    "drs-cross-account-kms:stack": "target",
                    "drs-cross-account-kms:run": runId,
                },
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
            // Its recovered volume is on a key of the target, and the drill says which profile it proved.
            expect(report.volumes.map((v) => [v.sourceServerID, v.key])).to.deep.equal([[web, "target"]]);
            expect(out).to.include(
                `  target key           ${web} (web-1) (i-0drill00000000001): every volume (1) is on a key of the target (${targetKeyArn}): the recovered instance does not depend on the staging account's key.\n`,
            );
            expect(out).to.include(
                "Proven under key.targetAccess documented: the minimum the DRS multi-account page documents (kms:ReEncrypt* and kms:DescribeKey, through EC2) was enough to recover these servers.",
            );
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
            // A target role refused on a staging key: logged in the target's trail only (the caller's account).
            w.m.targetTrail
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
            // CloudTrail of both accounts, in the key's Region, the drill's window, KMS events.
            for (const trail of [w.m.targetTrail, w.m.trail]) {
                const [lookup] = calls(trail, LookupEventsCommand);
                expect(lookup.LookupAttributes).to.deep.equal([{ AttributeKey: "EventSource", AttributeValue: "kms.amazonaws.com" }]);
                expect(lookup.StartTime.toISOString()).to.equal("2025-03-01T09:59:05.000Z");
            }
            const [d] = report.diagnosis;
            expect([d.accountId, d.region, d.status, d.scanned]).to.deep.equal([staging, region, "refusals", 4]);
            expect(d.trails.map((t) => [t.side, t.account, t.error])).to.deep.equal([
                ["target", target, undefined],
                ["staging", staging, undefined],
            ]);
            expect(d.refusals).to.have.length(1);
            const [r] = d.refusals;
            expect([r.action, r.count, r.principal, r.roleName, r.through, r.trailAccount]).to.deep.equal([
                "kms:CreateGrant",
                2,
                session,
                operator,
                "ec2.amazonaws.com",
                target,
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
            expect(out).to.include(
                `  kms:CreateGrant refused (AccessDenied) 2 times, 2025-03-01T10:06:00Z to 2025-03-01T10:06:00Z, logged in ${target}\n`,
            );
            expect(out).to.include(
                "Not enough under key.targetAccess documented: KMS refused what only the fallback allows (above). Set key.targetAccess: ebs-shared-snapshots in every staging stack and the target stack",
            );
            expect(out).to.include(`    who: ${session}\n    through: ec2.amazonaws.com\n`);
            expect(out).to.include("    fix: Switch to the fallback: set key.targetAccess to ebs-shared-snapshots");
        });

        it("a refusal for a target role not in keyUserRoleNames is diagnosed to keyUserRoleNames", async () => {
            const w = world();
            jobAnswers(w, job("COMPLETED", [{ id: web, launch: "FAILED" }], { endDateTime: new Date(started + 5 * 60_000).toISOString() }));
            const stranger = `arn:aws:sts::${target}:assumed-role/NightShift/bob`;
            w.m.targetTrail.on(LookupEventsCommand).resolves({ Events: [refused("ReEncrypt", stranger)] });
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

        it("nothing refused: reads both trails again, with progress, until the delivery wait has passed; only then 'none', without a guarantee", async () => {
            const w = world();
            jobAnswers(w, job("COMPLETED", [{ id: web, launch: "FAILED" }], { endDateTime: new Date(started + 3 * 60_000).toISOString() }));
            w.m.trail.on(LookupEventsCommand).resolves({ Events: noise });
            const { code, report, out, err, clock } = await runDrill(w, { mode: "drill" });
            expect(code).to.equal(1);
            const [d] = report.diagnosis;
            expect(d.status).to.equal("none");
            // The job ended at 10:03; 15 minutes' wait (the default --trail-wait): both trails read every 2 minutes until 10:18.
            expect(clock.clock.now()).to.be.at.least(started + 18 * 60_000);
            expect(calls(w.m.trail, LookupEventsCommand).length).to.be.greaterThan(1);
            expect(calls(w.m.targetTrail, LookupEventsCommand).length).to.equal(calls(w.m.trail, LookupEventsCommand).length);
            expect(err).to.match(
                /CloudTrail: no refused KMS call yet on 1 key \(both trails read to 2025-03-01T10:0\d:\d\dZ\); waiting for delivery until 2025-03-01T10:18:00Z \(--trail-wait 15\)/,
            );
            expect(d.note).to.include("No refused KMS call on the key in either trail (target and staging)");
            expect(d.note).to.include("CloudTrail does not guarantee delivery");
            expect(out).to.include("in the CloudTrail of target 111122223333 and staging 444455556666 (us-east-1)");
        });

        it("--trail-wait 0 still reads the whole window, and says none only once it has", async () => {
            const w = world();
            jobAnswers(w, job("COMPLETED", [{ id: web, launch: "FAILED" }], { endDateTime: new Date(started + 3 * 60_000).toISOString() }));
            const { report, clock } = await runDrill(w, { mode: "drill", trailWaitMinutes: 0 });
            expect(report.diagnosis[0].status).to.equal("none");
            expect(clock.clock.now()).to.be.at.least(started + 8 * 60_000); // the window closes 5 minutes after the job
        });

        it("says when a trail cannot be read, and how to give a role for it: the diagnosis is not checked", async () => {
            const w = world({ stagingUnreachable: true });
            jobAnswers(w, job("COMPLETED", [{ id: web, launch: "FAILED" }]));
            const { report } = await runDrill(w, { mode: "drill" });
            const [d] = report.diagnosis;
            expect(d.status).to.equal("not-checked");
            expect(d.trails.map((t) => [t.side, Boolean(t.error)])).to.deep.equal([
                ["target", false],
                ["staging", true],
            ]);
            expect(d.note).to.match(
                /^Not checked: nothing found in the trail that could be read, and a refusal may be in the other\. The staging account's trail \(444455556666\) could not be read: UnreachableAccount: cannot reach account 444455556666: .* Give a role in 444455556666 that may call cloudtrail:LookupEvents with --staging-role/,
            );
            expect(report.unchecked).to.deep.equal([`the KMS diagnosis of ${keyArn} (a trail could not be read)`]);
        });

        it("timeout: servers still launching are reported timed out, what launched is terminated, the job is said to be still running (exit 1)", async () => {
            const w = world();
            jobAnswers(w, job("STARTED", [launched(web, "i-0drill00000000001"), { id: db, launch: "IN_PROGRESS" }]));
            const { code, out, report, clock } = await runDrill(w, { mode: "drill", count: 2, timeoutMinutes: 2 });
            expect(code).to.equal(1);
            // Following the job for 2 minutes; then the KMS diagnosis reads CloudTrail until its wait is over.
            expect(clock.sleeps.slice(0, 4)).to.deep.equal([30_000, 30_000, 30_000, 30_000]);
            expect(clock.sleeps.slice(4).every((ms) => ms <= 120_000 || ms === 500)).to.equal(true);
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
                "volumes",
                "diagnosis",
                "unchecked",
                "exitCode",
                "plan",
                "identity",
                "cleanup",
                "profile",
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

    describe("a write sent once: StartRecovery and TerminateRecoveryInstances whose answers are lost", () => {
        const lost = () => Object.assign(new Error("socket hang up"), { name: "Error", code: "ECONNRESET" });

        it("StartRecovery's answer lost: the job it started is found by the run tag and followed; it is not sent again", async () => {
            const w = world();
            w.m.drillDrs.on(StartRecoveryCommand).rejects(lost());
            const tagged = job("COMPLETED", [launched(web, "i-0drill00000000001")], {
                tags: { "drs-cross-account-kms:tool": "drill", "drs-cross-account-kms:run": runId },
            });
            // The first listing has not caught up yet; the second lists the job.
            let reads = 0;
            w.m.drillDrs
                .on(DescribeJobsCommand)
                .callsFake(async (input: { filters?: { fromDate?: string } }) =>
                    input.filters?.fromDate ? { items: reads++ === 0 ? [] : [tagged] } : { items: [tagged] },
                );
            const { code, out, err, report } = await runDrill(w, { mode: "drill" });
            expect(calls(w.m.drillDrs, StartRecoveryCommand)).to.have.length(1);
            expect(code).to.equal(0);
            expect(err).to.include(
                "warning: us-east-1: StartRecovery's answer was lost (Error: socket hang up); looking for a job carrying",
            );
            expect(report.jobs[0].note).to.equal(
                `StartRecovery's answer was lost (Error: socket hang up); the job it started, ${jobId}, carries drs-cross-account-kms:run=${runId}: it was not sent again.`,
            );
            expect(out).to.include(`  note: StartRecovery's answer was lost`);
            expect(report.results.map((r) => r.status)).to.deep.equal(["launched"]);
        });

        it("StartRecovery's answer lost and no job of this run found: nothing started, not sent again (exit 2)", async () => {
            const w = world();
            w.m.drillDrs.on(StartRecoveryCommand).rejects(lost());
            w.m.drillDrs.on(DescribeJobsCommand).resolves({ items: [job("COMPLETED", [])] }); // another run's job
            const { code, report } = await runDrill(w, { mode: "drill" });
            expect(code).to.equal(2);
            expect(calls(w.m.drillDrs, StartRecoveryCommand)).to.have.length(1);
            expect(report.jobs[0].error).to.equal(
                `StartRecovery's answer was lost (Error: socket hang up), and no job carrying drs-cross-account-kms:run=${runId} was found in DescribeJobs: nothing was started. It was not sent again: run the drill again.`,
            );
        });

        it("TerminateRecoveryInstances's answer lost: its terminate job is found, or the instances are listed as left", async () => {
            const w = world();
            w.m.drillDrs.on(TerminateRecoveryInstancesCommand).rejects(lost());
            const drillJob = job("COMPLETED", [launched(web, "i-0drill00000000001")]);
            const terminating = job("STARTED", [launched(web, "i-0drill00000000001")], {
                jobID: "drsjob-terminate000000002",
                type: "TERMINATE",
            });
            w.m.drillDrs.on(DescribeJobsCommand).callsFake(async (input: { filters?: { fromDate?: string } }) => ({
                items: input.filters?.fromDate ? [drillJob, terminating] : [drillJob],
            }));
            const found = await runDrill(w, { mode: "drill" });
            expect(calls(w.m.drillDrs, TerminateRecoveryInstancesCommand)).to.have.length(1);
            expect([found.code, found.report.cleanup!.terminateJobIDs, found.report.cleanup!.left]).to.deep.equal([
                0,
                ["drsjob-terminate000000002"],
                [],
            ]);
            expect(found.out).to.include(
                "note: TerminateRecoveryInstances's answer was lost (Error: socket hang up); its job drsjob-terminate000000002",
            );

            const none = world();
            none.m.drillDrs.on(TerminateRecoveryInstancesCommand).rejects(lost());
            jobAnswers(none, drillJob);
            const left = await runDrill(none, { mode: "drill" });
            expect(left.code).to.equal(1);
            expect(left.report.cleanup!.left[0].error).to.equal(
                "Error: socket hang up (its answer was lost, and no terminate job for them was found; it was not sent again)",
            );
        });
    });

    describe("which key the recovered volumes use", () => {
        it("warns when a recovered instance's volumes stay on the staging key, or are unencrypted; both are in --json", async () => {
            const w = world({ volumeKeys: { "i-0drill00000000001": keyArn, "i-0drill00000000002": undefined } });
            jobAnswers(w, job("COMPLETED", [launched(web, "i-0drill00000000001"), launched(db, "i-0drill00000000002")]));
            const { code, out, report } = await runDrill(w, { mode: "drill", count: 2 });
            expect(code).to.equal(0); // a warning, not a finding: the drill launched
            expect(report.volumes.map((v) => [v.sourceServerID, v.key, v.volumes[0].kmsKeyId])).to.deep.equal([
                [web, "staging", keyArn],
                [db, "unencrypted", undefined],
            ]);
            expect(out).to.include(
                `  WARNING staging      ${web} (web-1) (i-0drill00000000001): 1 of 1 volume on the staging key ${keyArn}: a recovered instance like it depends on the staging account's key`,
            );
            expect(out).to.include("After a recovery, re-encrypt its volumes with a key of the target");
            expect(out).to.include(`  WARNING unencrypted  ${db} (db-1) (i-0drill00000000002): 1 of 1 volume unencrypted`);
        });

        it("could not read them: not checked (exit 3 when everything launched)", async () => {
            const w = world();
            jobAnswers(w, job("COMPLETED", [launched(web, "i-0drill00000000001")]));
            w.m.targetEc2
                .on(DescribeVolumesCommand)
                .rejects(awsError("UnauthorizedOperation", "You are not authorized to perform this operation."));
            const { code, report, out } = await runDrill(w, { mode: "drill" });
            expect(code).to.equal(3);
            expect(report.volumes[0].unchecked?.kind).to.equal("refused");
            expect(report.unchecked[0]).to.match(
                /^s-1000000000000web1 \(web-1\): which key its recovered volumes use \(the credentials for 111122223333 were refused ec2:DescribeVolumes/,
            );
            expect(out).to.include("Not checked (exit code 3 unless something failed):");
        });
    });

    describe("the diagnosis, where AWS logs each refusal", () => {
        it("EC2's infrastructure session refused in the target's trail: named as AWS's, with key.targetAccess as the fix, never as a role to add", async () => {
            const w = world();
            jobAnswers(w, job("COMPLETED", [{ id: web, launch: "FAILED" }], { endDateTime: new Date(started + 5 * 60_000).toISOString() }));
            const infra = `arn:aws:sts::${target}:assumed-role/aws:ec2-infrastructure/i-0drill00000000001`;
            w.m.targetTrail.on(LookupEventsCommand).resolves({ Events: [refused("Decrypt", infra)] });
            const clock = fakeClock();
            clock.advance(30 * 60_000);
            const { report } = await runDrill(w, { mode: "drill" }, { clock });
            const [r] = report.diagnosis[0].refusals;
            expect([r.roleName, r.trailAccount]).to.deep.equal(["aws:ec2-infrastructure", target]);
            expect(r.cause).to.equal(
                "kms:Decrypt was refused to EC2's infrastructure session (aws:ec2-infrastructure, for i-0drill00000000001), which uses the key through a grant for the volume. " +
                    "With key.targetAccess documented the target may not create grants on the key (kms:CreateGrant for AWS resources), so there is none.",
            );
            expect(r.fix).to.match(
                /^Not a role to add to target\.keyUserRoleNames: EC2's infrastructure session .* is AWS's, not yours\. Switch to the fallback: set key\.targetAccess to ebs-shared-snapshots/,
            );
            expect(r.fix).not.to.match(/Add aws:ec2-infrastructure/);
            expect(r.allowedBy).to.equal(
                "key.targetAccess: ebs-shared-snapshots (key policy statement AllowTargetAccountGrantsThroughEc2: grants for AWS resources)",
            );
        });

        it("--diagnose while CloudTrail may still deliver: none found yet, with the command that re-runs it (exit 3)", async () => {
            const w = world();
            jobAnswers(w, job("COMPLETED", [{ id: db, launch: "FAILED" }], { endDateTime: new Date(started + 5 * 60_000).toISOString() }));
            const clock = fakeClock();
            clock.advance(8 * 60_000); // 3 minutes after the job: within the 15-minute wait
            const { code, report } = await runDrill(w, { mode: "diagnose", jobs: [jobId] }, { clock });
            expect(code).to.equal(3);
            const [d] = report.diagnosis;
            expect(d.status).to.equal("none-yet");
            expect(d.note).to.include("CloudTrail delivers in about 5 minutes on average, without a guarantee");
            expect(d.note).to.include(`Re-run only the diagnosis: npm run -s drill -- -s target --diagnose --job ${jobId}`);
            // Read once: --diagnose does not wait.
            expect(calls(w.m.targetTrail, LookupEventsCommand)).to.have.length(1);
        });
    });

    describe("paginated calls that never end", () => {
        it("cloudtrail:LookupEvents: a token that comes back makes that trail not read, naming the call", async () => {
            const w = world();
            jobAnswers(w, job("COMPLETED", [{ id: web, launch: "FAILED" }], { endDateTime: new Date(started + 5 * 60_000).toISOString() }));
            w.m.trail.on(LookupEventsCommand).resolves({ Events: [], NextToken: "again" });
            const clock = fakeClock();
            clock.advance(60 * 60_000);
            const { report, code } = await runDrill(w, { mode: "diagnose", jobs: [jobId] }, { clock });
            const staged = report.diagnosis[0].trails.find((t) => t.side === "staging")!;
            expect(staged.error).to.equal(
                "MalformedAnswer: cloudtrail:LookupEvents answered the same NextToken twice: that is not an answer AWS sends",
            );
            expect([report.diagnosis[0].status, code]).to.deep.equal(["not-checked", 3]);
        });

        it("drs:DescribeJobs: looking for a lost start's job stops, and says nothing was sent again", async () => {
            const w = world();
            w.m.drillDrs.on(StartRecoveryCommand).rejects(Object.assign(new Error("socket hang up"), { code: "ECONNRESET" }));
            w.m.drillDrs.on(DescribeJobsCommand).resolves({ items: [], nextToken: "again" });
            const { report, code } = await runDrill(w, { mode: "drill" });
            expect(code).to.equal(2);
            expect(report.jobs[0].error).to.match(
                /and DescribeJobs could not be read to look for its job \(MalformedAnswer: drs:DescribeJobs answered the same page token twice .*\)\. It was not sent again/,
            );
            expect(calls(w.m.drillDrs, StartRecoveryCommand)).to.have.length(1);
        });
    });

    describe("the time limit", () => {
        it("the plan stops at it: what was not planned is not checked, and --start would be refused, and is (exit 2)", async () => {
            const w = world();
            const clock = fakeClock();
            const deadline = new Deadline(clock.clock, 0);
            const dry = await runDrill(w, {}, { clock, deadline });
            expect(dry.code).to.equal(2);
            expect(dry.report.unchecked).to.deep.equal([`the servers of ${staging}/${region} (the time limit came first)`]);
            expect(dry.report.plan!.notes).to.include(
                `The 0-minute --time-limit came before ${staging}/${region} could be planned: not planned.`,
            );
            const start = await runDrill(world(), { mode: "drill" }, { clock, deadline });
            expect(start.code).to.equal(2);
            expect(start.report.blockers).to.include(
                `The plan did not finish within --time-limit (${staging}/${region} not planned): give a longer --time-limit.`,
            );
        });
    });

    it("a job log whose pages never end does not hold up the job: it is followed to its end, with a warning", async () => {
        const w = world();
        jobAnswers(w, job("COMPLETED", [launched(web, "i-0drill00000000001")]));
        w.m.drillDrs.on(DescribeJobLogItemsCommand).resolves({ items: [], nextToken: "again" });
        const { code, err } = await runDrill(w, { mode: "drill" });
        expect(code).to.equal(0);
        expect(err).to.include(
            `warning: reading the log of job ${jobId} failed (MalformedAnswer: drs:DescribeJobLogItems answered the same page token twice (after 2 pages): that is not an answer AWS sends).`,
        );
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
            // A staging principal (DRS's own service-linked role) refused: in the staging account's trail.
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
            expect(r.trailAccount).to.equal(staging);
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
            jobAnswers(w, job("COMPLETED", [{ id: web, launch: "FAILED" }], { endDateTime: new Date(started + 5 * 60_000).toISOString() }));
            const clock = fakeClock();
            const times: number[] = [];
            w.m.trail.on(LookupEventsCommand).callsFake(async (input: { NextToken?: string }) => {
                times.push(clock.clock.now());
                const page = Number(input.NextToken ?? "0");
                return { Events: [noise[0]], NextToken: page < 4 ? String(page + 1) : undefined };
            });
            clock.advance(60 * 60_000); // the delivery wait is over: one read of each trail
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
        expect(drillRequest(["s-1"], "target", runId).isDrill).to.equal(true);
    });

    it("calls exactly the actions the permissions table lists for each identity, and its help names them", async () => {
        const w = world();
        jobAnswers(w, job("COMPLETED", [launched(web, "i-0drill00000000001"), { id: db, launch: "FAILED" }]));
        w.m.trail.on(LookupEventsCommand).resolves({ Events: [] });
        await runDrill(w, { mode: "drill", count: 2 });
        await runDrill(w, { mode: "cleanup", jobs: [jobId] });
        const actions = (prefix: string, m: World["m"][keyof World["m"]]) =>
            m.calls().map((c) => `${prefix}:${(c.args[0] as object).constructor.name.replace(/Command$/, "")}`);
        const called = (...list: [string, World["m"][keyof World["m"]]][]) => [...new Set(list.flatMap(([p, m]) => actions(p, m)))].sort();
        // The failback drill's own calls are held to the table in tests/ops/failbackDrill.spec.ts.
        const listed = (id: string) =>
            commandPermissions.drill
                .find((i) => i.id === id)!
                .calls.filter((c) => !c.when?.startsWith("--failback"))
                .map((c) => c.action)
                .sort();
        expect(called(["drs", w.m.targetDrs], ["iam", w.m.iam], ["ec2", w.m.targetEc2], ["cloudtrail", w.m.targetTrail])).to.deep.equal(
            listed("target"),
        );
        expect(called(["drs", w.m.drillDrs])).to.deep.equal(listed("drill-identity"));
        expect(called(["drs", w.m.stagingDrs], ["cloudtrail", w.m.trail])).to.deep.equal(listed("staging"));
        expect(called(["sts", w.m.sts])).to.deep.equal(["sts:GetCallerIdentity"]); // needs no permission
        expect(w.identities.filter(Boolean).length).to.be.greaterThan(0); // sts:AssumeRole, through the access
        const help = drillHelp();
        for (const identity of commandPermissions.drill) for (const call of identity.calls) expect(help).to.include(call.action);
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
            "--failback",
            "--staging-role",
            "--target",
            "--trail-wait",
            "--time-limit",
            "--print-policy",
            "--json",
            "--config-file",
        ];
        const examples = r.stdout.split("Examples, one per flag:")[1].split("\n\n")[0];
        for (const flag of flags) {
            expect(r.stdout, flag).to.match(new RegExp(`^  (-s, )?${flag}\\b`, "m"));
            if (flag !== "--stack") expect(examples, flag).to.include(flag);
        }
        for (const text of [
            "  in the target account (target.roleArn, or your credentials there):\n    drs:DescribeSourceServers; drs:GetLaunchConfiguration; iam:GetRole; iam:ListAttachedRolePolicies;",
            "  your own credentials:\n    sts:AssumeRole (on the key-user role, and each roleArn the stack config names)",
            "  the drill's identity in the target (the key-user role, or your Identity Center session):\n    drs:StartRecovery (--start) with its 35 dependent actions and drs:TagResource (the drill tags its",
            "AWSElasticDisasterRecoveryConsoleFullAccess_v2",
            "  in each staging account (stagingAccounts[].roleArn, --staging-role, or your credentials there):\n    drs:DescribeSourceServers; drs:GetReplicationConfiguration; cloudtrail:LookupEvents",
            "--print-policy [target|drill-identity|staging|origin|you]",
            "Exit codes: 0 a dry run that would start, or every drilled server launched, 1 a server failed or timed out, 2 could not run",
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
