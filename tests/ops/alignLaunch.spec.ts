// align-launch against the mocked target of tests/support/launchWorld.ts: the plan, the updates
// (only the differing fields, once), re-runs, stops and lost answers.
import { GetLaunchConfigurationCommand, UpdateLaunchConfigurationCommand } from "@aws-sdk/client-drs";
import { expect } from "chai";
import { CannotAlignLaunch, alignLaunchHelp } from "../../ops/align-launch";
import { commandPermissions } from "../../ops/permissions";
import { app, awsError, db, denied, launch, launchWorld, local, runLaunch, web } from "../support/launchWorld";

const updates = (w: ReturnType<typeof launchWorld>) => w.mock.commandCalls(UpdateLaunchConfigurationCommand).map((c) => c.args[0].input);

describe("align-launch", () => {
    it("dry run: lists per server the fields that differ from the stack's launch settings, and writes nothing (exit 1)", async () => {
        const w = launchWorld();
        const { code, out } = await runLaunch(w.access);
        expect(code).to.equal(1);
        expect(out.split("\n")).to.deep.equal([
            "Dry run: nothing is changed. Run again with --apply to update the servers listed.",
            "",
            "111122223333/us-east-1: 3 servers extended, 1 with the stack's launch settings, 2 to update (compared: launchDisposition STOPPED, osByol true)",
            `  ${web} (web-1): launchDisposition STARTED -> STOPPED, osByol false -> true`,
            `  ${db} (db-1): launchDisposition STARTED -> STOPPED, osByol false -> true`,
            "",
            "2 servers to update. Run again with --apply to update them.",
            "",
        ]);
        expect(updates(w)).to.deep.equal([]);
    });

    it("never compares or sends a field the stack leaves to DRS: web-1's copyTags false stays", async () => {
        const w = launchWorld();
        await runLaunch(w.access, { apply: true });
        expect(w.configs.get(web)?.copyTags).to.equal(false);
        for (const input of updates(w)) expect(input).to.not.have.property("copyTags");
    });

    it("leaves out servers that replicate into the target itself (not extended): it neither reads nor updates them", async () => {
        const w = launchWorld();
        await runLaunch(w.access, { apply: true });
        const read = w.mock.commandCalls(GetLaunchConfigurationCommand).map((c) => c.args[0].input.sourceServerID);
        expect(read).to.not.include(local);
        expect(updates(w).map((i) => i.sourceServerID)).to.not.include(local);
    });

    it("--apply sends sourceServerID and only the differing fields, licensing whole, once per server (exit 0)", async () => {
        const w = launchWorld();
        const { code, out } = await runLaunch(w.access, { apply: true });
        expect(code).to.equal(0);
        expect(updates(w)).to.deep.equal([
            { sourceServerID: web, launchDisposition: "STOPPED", licensing: { osByol: true } },
            { sourceServerID: db, launchDisposition: "STOPPED", licensing: { osByol: true } },
        ]);
        expect(out).to.include(`  changed s-e0000000000000db1 (db-1): launchDisposition STARTED -> STOPPED, osByol false -> true`);
        expect(out).to.include("2 changed, 0 skipped (aligned already), 0 failed.");
    });

    it("a re-run after a full apply sends nothing (exit 0)", async () => {
        const w = launchWorld();
        await runLaunch(w.access, { apply: true });
        w.mock.resetHistory();
        const { code, out } = await runLaunch(w.access, { apply: true });
        expect(code).to.equal(0);
        expect(updates(w)).to.deep.equal([]);
        expect(out).to.include("Nothing to update: every extended server has the stack's launch settings.");
    });

    it("re-reads each server before its update and skips one aligned meanwhile", async () => {
        const w = launchWorld();
        // Someone fixed db-1 in the console between the plan and its update: the second read of db-1 shows it aligned.
        let reads = 0;
        w.mock.on(GetLaunchConfigurationCommand, { sourceServerID: db }).callsFake(async () => {
            reads++;
            return reads === 1
                ? { sourceServerID: db, launchDisposition: "STARTED", licensing: { osByol: false } }
                : { sourceServerID: db, launchDisposition: "STOPPED", licensing: { osByol: true } };
        });
        const { code, out } = await runLaunch(w.access, { apply: true });
        expect(code).to.equal(0);
        expect(updates(w).map((i) => i.sourceServerID)).to.deep.equal([web]);
        expect(out).to.include(`  skipped ${db} (db-1): has the stack's launch settings already`);
    });

    it("stops at an access error, naming the permission, what was done before it and the command that resumes (exit 1)", async () => {
        const w = launchWorld();
        w.failing.set(db, { error: denied("drs:UpdateLaunchConfiguration") });
        const { code, err } = await runLaunch(w.access, { apply: true, resume: "npm run -s align-launch -- -s target --apply" });
        expect(code).to.equal(1);
        expect(err).to.include(`error: stopped at ${db} in 111122223333/us-east-1`);
        expect(err).to.include(
            "1 server was updated before it. Grant drs:UpdateLaunchConfiguration in 111122223333, then resume: npm run -s align-launch -- -s target --apply",
        );
    });

    it("a stop before anything was done could not run (exit 2)", async () => {
        const w = launchWorld();
        w.failing.set(web, { error: denied("drs:UpdateLaunchConfiguration") });
        expect((await runLaunch(w.access, { apply: true })).code).to.equal(2);
    });

    it("cannot plan without read access, and changes nothing", async () => {
        const w = launchWorld();
        w.mock.on(GetLaunchConfigurationCommand).rejects(denied("drs:GetLaunchConfiguration"));
        const failed = await runLaunch(w.access).then(
            () => undefined,
            (e: Error) => e,
        );
        expect(failed).to.be.instanceOf(CannotAlignLaunch);
        expect(failed?.message).to.include("lack drs:GetLaunchConfiguration");
        expect(updates(w)).to.deep.equal([]);
    });

    it("a lost answer is re-read, never resent: done is changed, not done is failed", async () => {
        const w = launchWorld();
        w.failing.set(web, { error: awsError("InternalServerException", "try again", 500), done: true });
        w.failing.set(db, { error: Object.assign(new Error("socket hang up"), { code: "ECONNRESET" }) });
        const { code, out } = await runLaunch(w.access, { apply: true });
        expect(updates(w).map((i) => i.sourceServerID)).to.deep.equal([web, db]);
        expect(out).to.include(
            `  changed ${web} (web-1): launchDisposition STARTED -> STOPPED, osByol false -> true (the answer was lost; a re-read shows it done)`,
        );
        expect(out).to.match(
            / {2}failed {2}s-e0000000000000db1 \(db-1\): Error: socket hang up: the answer was lost, and a re-read shows .*; it was not sent again/,
        );
        expect(code).to.equal(1);
    });

    it("an answer that does not carry what was sent is a failure", async () => {
        const w = launchWorld();
        w.mock.on(UpdateLaunchConfigurationCommand).resolves({ sourceServerID: web, launchDisposition: "STARTED" });
        const { code, out } = await runLaunch(w.access, { apply: true, servers: [web] });
        expect(code).to.equal(1);
        expect(out).to.include(`  failed  ${web} (web-1): DRS answered with launchDisposition STARTED -> STOPPED`);
    });

    it("--server picks servers by their ID or their staging server's, and an unknown one is refused before anything is sent", async () => {
        const w = launchWorld();
        const byStaging = `s-${db.slice(3)}s`;
        const { out } = await runLaunch(w.access, { apply: true, servers: [byStaging] });
        expect(out).to.include("(1 named by --server)");
        expect(updates(w).map((i) => i.sourceServerID)).to.deep.equal([db]);
        w.mock.resetHistory();
        const refused = await runLaunch(w.access, { apply: true, servers: [web, "s-0123456789abcdef9"] }).then(
            () => undefined,
            (e: Error) => e,
        );
        expect(refused).to.be.instanceOf(CannotAlignLaunch);
        expect(refused?.message).to.include("--server s-0123456789abcdef9: no server extended into 111122223333");
        expect((refused as CannotAlignLaunch).exitCode).to.equal(2);
        expect(updates(w)).to.deep.equal([]);
    });

    it("with no launch settings, there is nothing to align (exit 0) and it says how to set them", async () => {
        const w = launchWorld();
        const { code, out } = await runLaunch(w.access, {}, []);
        expect(code).to.equal(0);
        expect(out).to.include("The stack sets no launch settings (target.launch)");
        expect(w.mock.calls()).to.have.length(0);
    });

    it("a server that cannot be read is not updated and makes the run exit 3 when nothing else differs", async () => {
        const w = launchWorld();
        w.mock.on(GetLaunchConfigurationCommand, { sourceServerID: web }).rejects(awsError("ResourceNotFoundException", "gone", 404));
        w.configs.set(db, { ...w.configs.get(app) });
        const { code, out } = await runLaunch(w.access, { apply: true });
        expect(out).to.include(`  unreadable ${web} (web-1): ResourceNotFoundException: gone`);
        expect(code).to.equal(3);
    });

    it("--json writes one JSON document on stdout, the plan and the results", async () => {
        const w = launchWorld();
        const { out, err } = await runLaunch(w.access, { apply: true, json: true });
        const doc = JSON.parse(out);
        expect(doc.mode).to.equal("apply");
        expect(doc.plan.regions[0]).to.include({ region: "us-east-1", extended: 3, aligned: 1 });
        expect(doc.results.map((r: { status: string }) => r.status)).to.deep.equal(["changed", "changed"]);
        expect(doc.exitCode).to.equal(0);
        expect(err).to.include("Updating 2 servers:");
    });

    it("says in --help what it never touches, and lists the permissions it needs", () => {
        const help = alignLaunchHelp();
        expect(help).to.include("never the launch template's KMS key field, which DRS does not use for the recovery volumes");
        expect(help).to.include("launchIntoSourceInstance and exportBucketArn");
        const calls = commandPermissions["align-launch"].find((i) => i.id === "target")!.calls.map((c) => c.action);
        expect(calls).to.deep.equal(["drs:DescribeSourceServers", "drs:GetLaunchConfiguration", "drs:UpdateLaunchConfiguration"]);
        expect(launch).to.have.length(1);
    });
});
