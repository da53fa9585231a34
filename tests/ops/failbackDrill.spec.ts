// drill --failback against tests/support/failbackDrillWorld.ts: the plan writes nothing; --start
// reverses replication, follows the new source server at the origin, checks its key and removes
// it, also after a failure or Ctrl-C; a job, instance or setting that does not fit is refused.
import { LookupEventsCommand } from "@aws-sdk/client-cloudtrail";
import {
    DeleteSourceServerCommand,
    DescribeJobsCommand,
    DescribeRecoveryInstancesCommand,
    DescribeSourceServersCommand,
    DisconnectSourceServerCommand,
    GetReplicationConfigurationCommand,
    ReverseReplicationCommand,
} from "@aws-sdk/client-drs";
import { GetRoleCommand } from "@aws-sdk/client-iam";
import { expect } from "chai";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { run as runCli } from "../../cli";
import { drillOptionsOf } from "../../ops/drill/command";
import { commandPermissions } from "../../ops/permissions";
import {
    awsError,
    calls,
    job,
    jobId,
    key,
    keyArn,
    launched,
    operator,
    outputs,
    refused,
    staging,
    target,
    web,
} from "../support/drillWorld";
import { failbackKeys, failbackWorld, foreignOriginKey, instance, reversed, runFailback } from "../support/failbackDrillWorld";

const writes = (w: ReturnType<typeof failbackWorld>) => ({
    reverse: calls(w.m.targetDrs, ReverseReplicationCommand).length,
    disconnect: calls(w.origin.drs, DisconnectSourceServerCommand).length,
    remove: calls(w.origin.drs, DeleteSourceServerCommand).length,
});

describe("drill --failback: the plan", () => {
    it("plans the way back of the kept drill's instances and writes nothing", async () => {
        const w = failbackWorld();
        const { code, out, report } = await runFailback(w);
        expect(code).to.equal(0);
        expect(writes(w)).to.deep.equal({ reverse: 0, disconnect: 0, remove: 0 });
        expect(out).to.include("Dry run: nothing is started. Run again with --start to start the failback drill.");
        expect(out).to.include(`  ${instance} of ${web} (web-1): back to ${staging}/us-east-1, 100 GiB`);
        expect(out).to.include(`    the new source server's key: ${keyArn}`);
        expect(out).to.include("a full sync of 100 GiB");
        expect(report.failback!.readiness.map((r) => [r.check, r.status])).to.deep.equal([
            ["failback-origin-drs", "PASS"],
            ["failback-roles", "PASS"],
            ["failback-origin-key", "INFO"],
        ]);
    });

    it("says what of the sync crosses Regions when the origin is in another Region", async () => {
        const origin = "555566667777";
        const w = failbackWorld(undefined, origin, "us-west-2");
        const { code, out, report } = await runFailback(w, {}, { keys: failbackKeys({ accountId: origin, region: "us-west-2" }) });
        expect(code, JSON.stringify(report.blockers)).to.equal(0);
        expect(out).to.include(`back to ${origin}/us-west-2, 100 GiB`);
        expect(out).to.include("100 GiB of it crosses Regions and is billed as cross-Region data transfer");
        const local = await runFailback(failbackWorld());
        expect(local.out).not.to.include("crosses Regions");
    });

    it("refuses, writing nothing, a job the drill did not start, a real recovery's instance, and an entry without failback", async () => {
        const notOurs = failbackWorld();
        notOurs.m.targetDrs.on(DescribeJobsCommand).resolves({ items: [job("COMPLETED", [launched(web, instance)], { tags: {} })] });
        const a = await runFailback(notOurs, { mode: "failback" });
        expect(a.code).to.equal(2);
        expect(a.report.blockers[0]).to.include("a failback drill reverses only drill instances, never a real recovery's");

        const real = failbackWorld();
        real.m.targetDrs.on(DescribeRecoveryInstancesCommand).resolves({
            items: [{ recoveryInstanceID: instance, sourceServerID: web, isDrill: false, originEnvironment: "AWS" }],
        });
        const b = await runFailback(real, { mode: "failback" });
        expect(b.code).to.equal(2);
        expect(b.report.blockers).to.deep.equal([
            `${instance}: it is not a drill instance: a failback drill never reverses a real recovery.`,
        ]);

        const unset = failbackWorld();
        const c = await runFailback(unset, { mode: "failback" }, { keys: [key] });
        expect(c.code).to.equal(2);
        expect(c.report.blockers[0]).to.include("the stack has no failback setting for its staging entry");
        for (const w of [notOurs, real, unset]) expect(writes(w)).to.deep.equal({ reverse: 0, disconnect: 0, remove: 0 });
    });

    it("refuses an origin DRS would use that the stack's failback setting does not name", async () => {
        const w = failbackWorld();
        const { code, report } = await runFailback(w, { mode: "failback" }, { keys: failbackKeys({ accountId: "555566667777" }) });
        expect(code).to.equal(2);
        expect(report.blockers).to.deep.equal([
            `${instance}: DRS fails it back to ${staging}/us-east-1, but the stack's failback setting says 555566667777/us-east-1: correct stagingAccounts[].failback.`,
        ]);
        expect(writes(w).reverse).to.equal(0);
    });

    it("refuses to start when the way back is not ready: a failback role missing in the target", async () => {
        const w = failbackWorld();
        w.m.iam.on(GetRoleCommand, { RoleName: `DRSCrossAccountAgentRole_${staging}` }).rejects(awsError("NoSuchEntityException"));
        const { code, out } = await runFailback(w, { mode: "failback" });
        expect(code).to.equal(2);
        expect(out).to.include(`failback-roles (${staging}/us-east-1 from ${target}): ${target} lacks DRSCrossAccountAgentRole_${staging}`);
        expect(writes(w).reverse).to.equal(0);
    });
});

describe("drill --failback --start", () => {
    it("reverses replication, follows the new source server until it replicates, checks its key and removes it", async () => {
        const w = failbackWorld();
        const { code, out, err, report } = await runFailback(w, { mode: "failback" });
        expect(code).to.equal(0);
        expect(calls(w.m.targetDrs, ReverseReplicationCommand)).to.deep.equal([{ recoveryInstanceID: instance }]);
        const server = report.failback!.servers[0];
        expect(server).to.include({ reversedServerID: reversed, status: "replicating", onKey: "yes" });
        expect(err).to.include(`${instance} -> ${reversed} INITIATING`);
        expect(err).to.include(`${instance} -> ${reversed} INITIAL_SYNC`);
        expect(calls(w.origin.drs, DisconnectSourceServerCommand)).to.deep.equal([{ sourceServerID: reversed }]);
        expect(calls(w.origin.drs, DeleteSourceServerCommand)).to.deep.equal([{ sourceServerID: reversed }]);
        expect(out).to.include(`Clean-up: disconnected and deleted ${reversed} at the origin`);
        expect(out).to.include(`its staging disks' key: yes (${keyArn})`);
        expect(out).to.include(`terminate them with npm run -s drill -- -s target --cleanup --job ${jobId}`);
    });

    it("on a failed reverse replication, still removes the new source server and reads both trails for KMS refusals", async () => {
        const w = failbackWorld([
            {
                dataReplicationState: "INITIATING",
                dataReplicationError: { error: "FAILED_TO_CREATE_STAGING_DISKS", rawError: "KMS key access denied" },
            },
        ]);
        const slr = `arn:aws:sts::${staging}:assumed-role/AWSServiceRoleForElasticDisasterRecovery/drs`;
        w.m.trail.on(LookupEventsCommand).resolves({ Events: [refused("CreateGrant", slr)] });
        const { code, report } = await runFailback(w, { mode: "failback" });
        expect(code).to.equal(1);
        expect(report.failback!.servers[0]).to.include({
            status: "failed",
            message: "FAILED_TO_CREATE_STAGING_DISKS: KMS key access denied",
        });
        expect(writes(w)).to.deep.equal({ reverse: 1, disconnect: 1, remove: 1 });
        expect(report.diagnosis.map((d) => [d.keyArn, d.trails.map((t) => t.account).sort()])).to.deep.equal([
            [keyArn, [target, staging].sort()],
        ]);
        expect(report.diagnosis[0].refusals.map((r) => r.action)).to.include("kms:CreateGrant");
    });

    it("explains a refusal on an origin key the stack does not write by the origin's own policy, not the program's", async () => {
        const origin = "555566667777";
        const w = failbackWorld(
            [{ dataReplicationState: "INITIATING", dataReplicationError: { error: "FAILED_TO_CREATE_STAGING_DISKS" } }],
            origin,
        );
        const originKey = foreignOriginKey(origin);
        const slr = `arn:aws:sts::${origin}:assumed-role/AWSServiceRoleForElasticDisasterRecovery/drs`;
        const onOriginKey = { resources: [{ accountId: origin, type: "AWS::KMS::Key", ARN: originKey }] };
        w.m.trail.on(LookupEventsCommand).resolves({ Events: [refused("CreateGrant", slr, onOriginKey)] });
        const { code, report } = await runFailback(w, { mode: "failback" }, { keys: failbackKeys({ accountId: origin }) });
        expect(code, JSON.stringify(report.blockers)).to.equal(1);
        expect(report.diagnosis.map((d) => d.keyArn)).to.deep.equal([originKey]);
        expect(report.diagnosis[0], JSON.stringify(report.diagnosis)).to.have.property("refusals").with.length.above(0);
        expect(report.diagnosis[0].refusals[0].cause).to.include("not a key this program writes");
        expect(report.diagnosis[0].refusals[0].fix).to.include("failback-origin-key");
    });

    it("on an error that is no AWS answer, still removes the new source server before the error goes up", async () => {
        const w = failbackWorld();
        w.origin.drs.on(GetReplicationConfigurationCommand).rejects(new TypeError("a bug"));
        let thrown: unknown;
        await runFailback(w, { mode: "failback" }).catch((err) => (thrown = err));
        expect(String(thrown)).to.include("a bug");
        expect(writes(w)).to.deep.equal({ reverse: 1, disconnect: 1, remove: 1 });
    });

    it("on Ctrl-C while it follows, stops and removes what it created", async () => {
        const w = failbackWorld([{ dataReplicationState: "INITIATING" }]);
        const controller = new AbortController();
        w.origin.drs.on(DescribeSourceServersCommand).callsFake(async () => {
            if (w.reverseCalled()) controller.abort();
            return {
                items: w.reverseCalled()
                    ? [
                          {
                              sourceServerID: reversed,
                              recoveryInstanceId: instance,
                              dataReplicationInfo: { dataReplicationState: "INITIATING" },
                          },
                      ]
                    : [],
            };
        });
        const { report } = await runFailback(w, { mode: "failback" }, { signal: controller.signal, keys: failbackKeys() });
        expect(report.failback!.servers[0].status).to.equal("interrupted");
        expect(writes(w)).to.deep.equal({ reverse: 1, disconnect: 1, remove: 1 });
    });

    it("with --keep leaves the new source server; --cleanup later finds it by its instance and removes it", async () => {
        const w = failbackWorld();
        const kept = await runFailback(w, { mode: "failback", keep: true });
        expect(kept.out).to.include(`Kept (--keep): ${reversed} still replicate back, and are billed.`);
        expect(writes(w)).to.deep.equal({ reverse: 1, disconnect: 0, remove: 0 });
        const cleaned = await runFailback(w, { mode: "failback-cleanup" });
        expect(cleaned.code).to.equal(0);
        expect(writes(w)).to.deep.equal({ reverse: 1, disconnect: 1, remove: 1 });
    });

    it("a re-run follows the new source server already there instead of reversing again", async () => {
        const w = failbackWorld();
        await runFailback(w, { mode: "failback", keep: true });
        const again = await runFailback(w, { mode: "failback" });
        expect(again.code).to.equal(0);
        expect(writes(w).reverse).to.equal(1);
        expect(again.report.failback!.notes.join(" ")).to.include(`already replicates back to ${staging}/us-east-1 as ${reversed}`);
    });

    it("says a clean-up that failed, with the command that finishes it (exit 1)", async () => {
        const w = failbackWorld();
        w.origin.drs
            .on(DeleteSourceServerCommand)
            .rejects(awsError("AccessDeniedException", "not authorized to perform: drs:DeleteSourceServer"));
        const { code, out } = await runFailback(w, { mode: "failback" });
        expect(code).to.equal(1);
        expect(out).to.include(`LEFT: ${reversed} at ${staging}/us-east-1`);
        expect(out).to.include(`--failback --cleanup --job ${jobId}`);
    });
});

describe("drill --failback: the flags", () => {
    const base = { stack: "target", json: false };
    it("needs --job, refuses --diagnose, --server and --role with it, and takes --start, --cleanup and --keep", () => {
        expect(() => drillOptionsOf({ ...base, failback: true })).to.throw("--failback needs --job <jobID>");
        expect(() => drillOptionsOf({ ...base, failback: true, diagnose: true, jobs: [jobId] })).to.throw("contradict");
        expect(() => drillOptionsOf({ ...base, failback: true, jobs: [jobId], servers: [web] })).to.throw("--server goes with");
        expect(() => drillOptionsOf({ ...base, failback: true, jobs: [jobId], role: "R" })).to.throw(
            "--role goes with a drill, not --failback",
        );
        expect(drillOptionsOf({ ...base, failback: true, jobs: [jobId] }).mode).to.equal("failback-plan");
        expect(drillOptionsOf({ ...base, failback: true, jobs: [jobId], start: true, keep: true })).to.include({
            mode: "failback",
            keep: true,
        });
        expect(drillOptionsOf({ ...base, failback: true, jobs: [jobId], cleanup: true }).mode).to.equal("failback-cleanup");
    });

    it("takes --staging-role for an origin outside the stack, and refuses one for an account the stack does not name", async () => {
        const origin = "555566667777";
        const w = failbackWorld(undefined, origin);
        const dir = fs.mkdtempSync(path.join(os.tmpdir(), "drs-failback-"));
        fs.writeFileSync(path.join(dir, "Pulumi.yaml"), "name: drs-cross-account-kms\nruntime: nodejs\n");
        fs.writeFileSync(
            path.join(dir, "Pulumi.target.yaml"),
            `config:\n  drs-cross-account-kms:deploy: target\n  drs-cross-account-kms:target:\n    accountId: "${target}"\n    keyUserRoleNames: [${operator}]\n  drs-cross-account-kms:stagingStacks: [staging]\n`,
        );
        const outputsFile = path.join(dir, "outputs.json");
        fs.writeFileSync(outputsFile, JSON.stringify({ ...outputs, stagingKeys: failbackKeys({ accountId: origin }) }));
        const cli = async (role: string) => {
            let roles: Map<string, string | undefined> | undefined;
            let out = "";
            let err = "";
            const code = await runCli(
                ["drill", "-s", "target", "--outputs", outputsFile, "--failback", "--job", jobId, "--staging-role", role],
                {
                    workspace: null,
                    projectDir: dir,
                    progressDelayMs: 0,
                    io: { out: (t) => void (out += t), err: (t) => void (err += t) },
                    access: (roleArns) => {
                        roles = roleArns;
                        return w.access;
                    },
                },
            );
            return { code, out, err, roles };
        };
        const reached = await cli(`arn:aws:iam::${origin}:role/DrsReadOnly`);
        expect(reached.code, reached.err).to.equal(0);
        expect(reached.roles?.get(origin)).to.equal(`arn:aws:iam::${origin}:role/DrsReadOnly`);
        expect(reached.out).to.include(`back to ${origin}/us-east-1`);
        const stranger = await cli("arn:aws:iam::999988887777:role/R");
        expect([stranger.code, stranger.err]).to.deep.equal([
            2,
            `error: --staging-role for 999988887777: not a staging account or failback origin of the stack (${staging}, ${origin}).\n`,
        ]);
        expect(writes(w)).to.deep.equal({ reverse: 0, disconnect: 0, remove: 0 });
    });
});

describe("drill --failback: permissions", () => {
    it("calls exactly the actions the permissions table lists for the origin, and in the target only those it lists", async () => {
        const origin = "555566667777";
        const w = failbackWorld(
            [{ dataReplicationState: "INITIATING", dataReplicationError: { error: "FAILED_TO_CREATE_STAGING_DISKS" } }],
            origin,
        );
        const keys = failbackKeys({ accountId: origin });
        await runFailback(w, { mode: "failback", keep: true }, { keys });
        await runFailback(w, { mode: "failback-cleanup" }, { keys });
        type Mock = { calls(): { args: unknown[] }[] };
        const called = (...list: [string, Mock][]) => [
            ...new Set(
                list.flatMap(([prefix, m]) =>
                    m.calls().map((c) => `${prefix}:${(c.args[0] as object).constructor.name.replace(/Command$/, "")}`),
                ),
            ),
        ];
        const listed = (id: string) => commandPermissions.drill.find((i) => i.id === id)!.calls.map((c) => c.action);
        // The origin is outside the stack: its trail answers on the staging trail's mock.
        expect(called(["drs", w.origin.drs], ["iam", w.origin.iam], ["kms", w.origin.kms], ["cloudtrail", w.m.trail]).sort()).to.deep.equal(
            listed("origin").sort(),
        );
        const inTarget = called(["drs", w.m.targetDrs], ["iam", w.m.iam], ["cloudtrail", w.m.targetTrail]);
        expect(inTarget).to.include.members(["drs:DescribeJobs", "drs:ReverseReplication", "drs:DescribeRecoveryInstances"]);
        expect(listed("target")).to.include.members(inTarget);
    });
});
