import {
    DescribeRecoverySnapshotsCommand,
    DescribeSourceServersCommand,
    GetReplicationConfigurationCommand,
    UpdateReplicationConfigurationCommand,
} from "@aws-sdk/client-drs";
import { DescribeKeyCommand, GetKeyPolicyCommand } from "@aws-sdk/client-kms";
import { expect } from "chai";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { CannotAlign, alignServersHelp, applyAlignment, planAlignment } from "../../ops/align-servers";
import { Deadline } from "../../ops/clock";
import { commandPermissions } from "../../ops/permissions";
import { spawnCli } from "../support/mocks";
import {
    awsError,
    denied,
    fakeClock,
    FakeServer,
    fleet,
    key,
    keyArn,
    keyId,
    oldKeyArn,
    oldKeyPolicy,
    region,
    run,
    sourceServer,
    staging,
    stagingAccount,
    target,
} from "../support/alignWorld";

async function cannotAlign(body: () => Promise<unknown>): Promise<string> {
    try {
        await body();
    } catch (err) {
        expect(err).to.be.instanceOf(CannotAlign);
        return (err as Error).message;
    }
    throw new Error("expected CannotAlign");
}

const updates = (m: ReturnType<typeof stagingAccount>["drsMock"]) =>
    m.commandCalls(UpdateReplicationConfigurationCommand).map((c) => c.args[0].input);
const updatedIds = (m: ReturnType<typeof stagingAccount>["drsMock"]) => updates(m).map((u) => u.sourceServerID);

const caveat = [
    "Points in time taken before a move stay under the old key: keep that key until they expire.",
    "Snapshots under the AWS managed key aws/ebs can never be shared with another account.",
    "So a moved server is recoverable in the target account only from its first point in time on the new key.",
    "",
    "Until a moved server has resynced, it has no point in time on the new key: the target can recover it only from then on.",
    "Moving many servers at once resyncs them at once: bandwidth from the sources and staging storage multiply. --batch <n>",
    "moves n servers, waits until each is back on continuous replication with a point in time on the key, then the next n.",
];
const oldKeyNote =
    `  old key ${oldKeyArn} (1 server): its policy lets ${target} (TargetReEncrypt) use it: points in time taken before the move stay ` +
    "recoverable there while this key is kept and enabled, if the roles that recover also have an IAM allow for it (the key-use policies name only the stack's keys).";
const unencryptedNote =
    "1 server replicates unencrypted (ebsEncryption NONE): recoverable in the target without a key, but not encrypted at rest. --include-unencrypted moves them onto the key too.";

describe("align-servers", () => {
    it("dry run: prints what it would move, per key, the old key's use in the target, the unencrypted server apart, and writes nothing (exit 1)", async () => {
        const { access, drsMock } = stagingAccount();
        const { code, out, err } = await run(access);
        expect(out.split("\n")).to.deep.equal([
            "Dry run: nothing is changed. Run again with --apply to move the servers listed.",
            "",
            `444455556666/us-east-1 key ${keyArn}: 4 servers replicate here, 1 already on the key, 2 to move, 1 unencrypted (not moved)`,
            `  s-0123456789abcd001 (web-1): DEFAULT (the AWS managed key aws/ebs) -> ${keyArn}; a full sync may be required`,
            `  s-0123456789abcd002 (db-1): CUSTOM ${oldKeyArn} -> ${keyArn}; a full sync may be required`,
            "  warning: s-0123456789abcd004 (files-1) replicates unencrypted (NONE): recoverable in the target without a key; not moved (--include-unencrypted moves it)",
            oldKeyNote,
            "",
            "2 servers to move. Run again with --apply to move them.",
            "",
            unencryptedNote,
            "",
            ...caveat,
            "",
        ]);
        expect(err).to.equal("Reading the replication configuration of 4 source servers in 444455556666/us-east-1...\n");
        expect(code).to.equal(1);
        expect(drsMock.commandCalls(UpdateReplicationConfigurationCommand)).to.have.length(0);
    });

    it("plans per key: the key's state, servers replicating here, already on the key (a count), and those to move", async () => {
        const { access } = stagingAccount();
        const plan = await planAlignment([key], access);
        expect(plan.unknownServers).to.deep.equal([]);
        expect(plan.keys).to.have.length(1);
        const [k] = plan.keys;
        expect([k.keyState, k.refused, k.replicating, k.alreadyOnKey]).to.deep.equal(["Enabled", undefined, 4, 1]);
        expect(k.toMove[1]).to.deep.equal({
            sourceServerID: "s-0123456789abcd002",
            hostname: "db-1",
            ebsEncryption: "CUSTOM",
            ebsEncryptionKeyArn: oldKeyArn,
            newKeyArn: keyArn,
        });
    });

    it("exits 0 with nothing to move", async () => {
        const { access } = stagingAccount([
            { id: "s-0123456789abcd003", hostname: "app-1", ebsEncryption: "CUSTOM", ebsEncryptionKeyArn: keyArn },
        ]);
        const { code, out } = await run(access);
        expect(out).to.include(": 1 server replicates here, 1 already on the key, 0 to move\n");
        expect(out).to.include("Nothing to move: every server is on its entry's key.");
        expect(out).not.to.include("points in time");
        expect(code).to.equal(0);
    });

    it("reads every page of source servers", async () => {
        const many: FakeServer[] = Array.from({ length: 7 }, (_, i) => ({
            id: `s-0123456789abcd1${String(i).padStart(2, "0")}`,
            hostname: `host-${i}`,
            ebsEncryption: i < 3 ? "CUSTOM" : "DEFAULT",
            ebsEncryptionKeyArn: i < 3 ? keyArn : undefined,
        }));
        const { access, drsMock } = stagingAccount(many);
        drsMock
            .on(DescribeSourceServersCommand, { nextToken: undefined })
            .resolves({ items: many.slice(0, 4).map(sourceServer), nextToken: "page-2" })
            .on(DescribeSourceServersCommand, { nextToken: "page-2" })
            .resolves({ items: many.slice(4).map(sourceServer) });
        const [k] = (await planAlignment([key], access)).keys;
        expect([k.replicating, k.alreadyOnKey, k.toMove.length]).to.deep.equal([7, 3, 4]);
        expect(drsMock.commandCalls(DescribeSourceServersCommand).map((c) => c.args[0].input.nextToken)).to.deep.equal([
            undefined,
            "page-2",
        ]);
    });

    it("--apply --include-unencrypted moves each server off the key, prints each result, and leaves servers on the key untouched (exit 0)", async () => {
        const { access, drsMock, state } = stagingAccount();
        const { code, out } = await run(access, { apply: true, includeUnencrypted: true });
        expect(out.split("\n")).to.deep.equal([
            `444455556666/us-east-1 key ${keyArn}: 4 servers replicate here, 1 already on the key, 3 to move`,
            "",
            "Moving 3 servers:",
            `  moved   s-0123456789abcd001 (web-1): was DEFAULT (the AWS managed key aws/ebs), now on ${keyArn}; a full sync may be required`,
            `  moved   s-0123456789abcd002 (db-1): was CUSTOM ${oldKeyArn}, now on ${keyArn}; a full sync may be required`,
            `  moved   s-0123456789abcd004 (files-1): was NONE, now on ${keyArn}; a full sync may be required`,
            "",
            "3 moved, 0 skipped (already on the key), 0 failed.",
            "",
            ...caveat,
            "",
        ]);
        expect(code).to.equal(0);
        expect(updatedIds(drsMock)).not.to.include("s-0123456789abcd003");
        for (const id of ["s-0123456789abcd001", "s-0123456789abcd002", "s-0123456789abcd004"]) {
            expect(state.get(id)).to.deep.equal({ ebsEncryption: "CUSTOM", ebsEncryptionKeyArn: keyArn });
        }
    });

    it("sends only sourceServerID, ebsEncryption CUSTOM and ebsEncryptionKeyArn", async () => {
        const { access, drsMock } = stagingAccount();
        await run(access, { apply: true, includeUnencrypted: true });
        const sent = updates(drsMock);
        expect(sent).to.have.length(3);
        for (const input of sent) {
            expect(Object.keys(input).sort()).to.deep.equal(["ebsEncryption", "ebsEncryptionKeyArn", "sourceServerID"]);
            expect([input.ebsEncryption, input.ebsEncryptionKeyArn]).to.deep.equal(["CUSTOM", keyArn]);
        }
    });

    it("re-reads each server before it writes, and skips one already on the key", async () => {
        const { access, drsMock, state } = stagingAccount();
        const plan = await planAlignment([key], access, { includeUnencrypted: true });
        state.set("s-0123456789abcd002", { ebsEncryption: "CUSTOM", ebsEncryptionKeyArn: keyArn }); // moved meanwhile, e.g. in the console
        const reported: string[] = [];
        const outcome = await applyAlignment(plan, access, (r) => reported.push(`${r.status} ${r.sourceServerID}`));
        expect(reported).to.deep.equal(["moved s-0123456789abcd001", "skipped s-0123456789abcd002", "moved s-0123456789abcd004"]);
        expect(outcome.stopped).to.equal(undefined);
        expect(updatedIds(drsMock)).to.deep.equal(["s-0123456789abcd001", "s-0123456789abcd004"]);
    });

    it("goes on past a server that fails (exit 1), and a re-run moves only what is left", async () => {
        const { access, drsMock, failing } = stagingAccount();
        failing.set(
            "s-0123456789abcd002",
            awsError("ValidationException", "Invalid EBS encryption key: the key is not accessible to the DRS service-linked role"),
        );
        const first = await run(access, { apply: true, includeUnencrypted: true });
        expect(first.code).to.equal(1);
        expect(first.out).to.include(
            "  failed  s-0123456789abcd002 (db-1): ValidationException: Invalid EBS encryption key: the key is not accessible to the DRS service-linked role\n",
        );
        expect(first.out).to.include(
            "2 moved, 0 skipped (already on the key), 1 failed.\nRun again to retry the failed servers: servers already on the key are skipped.\n",
        );
        expect(updatedIds(drsMock)).to.deep.equal(["s-0123456789abcd001", "s-0123456789abcd002", "s-0123456789abcd004"]);

        failing.clear();
        drsMock.resetHistory();
        const again = await run(access, { apply: true, includeUnencrypted: true });
        expect(again.code).to.equal(0);
        expect(again.out).to.include(": 4 servers replicate here, 3 already on the key, 1 to move\n");
        expect(updatedIds(drsMock)).to.deep.equal(["s-0123456789abcd002"]);
    });

    it("stops at an access error, naming the server it stopped at, the permission, what was moved before it, and the command that resumes (exit 1)", async () => {
        const { access, drsMock, failing } = stagingAccount();
        failing.set("s-0123456789abcd002", denied("drs:UpdateReplicationConfiguration"));
        const { code, out, err } = await run(access, {
            apply: true,
            includeUnencrypted: true,
            resume: "npm run -s align-servers -- -s staging --apply",
        });
        expect(code).to.equal(1);
        expect(updatedIds(drsMock)).to.deep.equal(["s-0123456789abcd001", "s-0123456789abcd002"]); // files-1 not attempted
        expect(out).to.include("1 moved, 0 skipped (already on the key), 0 failed.");
        expect(err).to.match(
            /^error: stopped at s-0123456789abcd002 in 444455556666\/us-east-1: the credentials for 444455556666 lack drs:UpdateReplicationConfiguration \(AccessDeniedException: .*\)\. 1 server was moved before it\. Grant drs:UpdateReplicationConfiguration in 444455556666, then resume: npm run -s align-servers -- -s staging --apply \(servers already on the key are skipped\)\.$/m,
        );
    });

    it("a stop before anything moved could not run (exit 2)", async () => {
        const { access, failing } = stagingAccount();
        failing.set("s-0123456789abcd001", denied("drs:UpdateReplicationConfiguration"));
        expect((await run(access, { apply: true })).code).to.equal(2);
    });

    it("names the action it called when the access error does not name the permission", async () => {
        const { access, failing } = stagingAccount();
        failing.set("s-0123456789abcd001", awsError("AccessDeniedException", "Access denied"));
        const plan = await planAlignment([key], access);
        const outcome = await applyAlignment(plan, access, () => undefined);
        expect(outcome.results).to.deep.equal([]);
        expect(outcome.stopped).to.deep.equal({
            accountId: staging,
            region,
            at: "s-0123456789abcd001",
            reason: "access",
            resume: "npm run -s align-servers -- -s <stack> --apply",
            action: "drs:UpdateReplicationConfiguration",
            permission: "drs:UpdateReplicationConfiguration",
            message: `the credentials for ${staging} were refused calling drs:UpdateReplicationConfiguration (AccessDeniedException: Access denied)`,
            moved: 0,
        });
    });

    it("cannot plan without read access, and changes nothing", async () => {
        const { access, drsMock } = stagingAccount();
        drsMock.on(GetReplicationConfigurationCommand).rejects(denied("drs:GetReplicationConfiguration"));
        const message = await cannotAlign(() => run(access, { apply: true }));
        expect(message).to.match(
            /^Could not plan: the credentials for 444455556666 lack drs:GetReplicationConfiguration .*Nothing was changed\.$/,
        );
        expect(drsMock.commandCalls(UpdateReplicationConfigurationCommand)).to.have.length(0);
    });

    for (const [state, reason] of [
        [
            "PendingDeletion",
            /key arn:aws:kms:\S+ is scheduled for deletion on 2026-12-28T00:00:00\.000Z: everything it encrypts becomes unrecoverable then\. Cancel the deletion and enable it first \(aws kms cancel-key-deletion, then aws kms enable-key\)\./,
        ],
        ["Disabled", /key arn:aws:kms:\S+ is Disabled: DRS cannot encrypt with it\. Enable it first \(aws kms enable-key\)\./],
    ] as const) {
        it(`refuses a key that is ${state}, with the reason, and moves nothing (exit 2)`, async () => {
            const { access, drsMock, kmsMock } = stagingAccount();
            kmsMock
                .on(DescribeKeyCommand)
                .resolves({ KeyMetadata: { KeyId: keyId, KeyState: state, DeletionDate: new Date("2026-12-28T00:00:00Z") } });
            const { code, out } = await run(access, { apply: true });
            expect(code).to.equal(2);
            expect(out).to.match(new RegExp(`^  Refused: ${reason.source} No server is moved onto it\\.$`, "m"));
            expect(drsMock.commandCalls(UpdateReplicationConfigurationCommand)).to.have.length(0);
        });
    }

    it("refuses a key that does not exist", async () => {
        const { access, kmsMock } = stagingAccount();
        kmsMock.on(DescribeKeyCommand).rejects(awsError("NotFoundException"));
        const [k] = (await planAlignment([key], access)).keys;
        expect([k.keyState, k.refused]).to.deep.equal([
            "NotFound",
            `key ${keyArn} does not exist. Run \`pulumi refresh\` and \`pulumi up\` on the staging stack.`,
        ]);
    });

    it("leaves out servers extended into the account: it neither reads nor moves them", async () => {
        const { access, drsMock } = stagingAccount();
        await run(access, { apply: true });
        const read = drsMock.commandCalls(GetReplicationConfigurationCommand).map((c) => c.args[0].input.sourceServerID);
        expect(read).not.to.include("s-0123456789abcd005");
        expect(updatedIds(drsMock)).not.to.include("s-0123456789abcd005");
    });

    it("--server restricts the run to the named servers, and refuses an ID that does not replicate here", async () => {
        const { access, drsMock } = stagingAccount();
        const { code, out } = await run(access, { apply: true, servers: ["s-0123456789abcd002"] });
        expect(code).to.equal(0);
        expect(out).to.include(": 4 servers replicate here (1 named by --server), 0 already on the key, 1 to move\n");
        expect(updatedIds(drsMock)).to.deep.equal(["s-0123456789abcd002"]);
        expect(drsMock.commandCalls(GetReplicationConfigurationCommand)).to.have.length(2); // the plan's read and the re-read

        drsMock.resetHistory();
        const message = await cannotAlign(() => run(access, { apply: true, servers: ["s-0123456789abcd001", "s-0123456789abcd005"] }));
        expect(message).to.match(/^--server s-0123456789abcd005: no such source server replicates into the stack's staging accounts/);
        expect(drsMock.commandCalls(UpdateReplicationConfigurationCommand)).to.have.length(0);
    });

    it("--json writes one JSON document on stdout, the plan and the results; progress goes to stderr", async () => {
        const { access, failing } = stagingAccount();
        failing.set("s-0123456789abcd004", awsError("ValidationException", "bad"));
        const { code, out, err } = await run(access, { apply: true, json: true, includeUnencrypted: true });
        const doc = JSON.parse(out);
        expect(Object.keys(doc)).to.deep.equal(["mode", "plan", "results", "exitCode"]);
        expect([doc.mode, doc.exitCode, code]).to.deep.equal(["apply", 1, 1]);
        expect(doc.plan.keys[0].toMove).to.have.length(3);
        expect(doc.results.map((r: any) => r.status)).to.deep.equal(["moved", "moved", "failed"]);
        expect(err).to.include("  failed  s-0123456789abcd004 (files-1): ValidationException: bad\n");
    });

    it("calls exactly the actions the permissions table lists for the staging account, and its help names them", async () => {
        const { access, kmsMock, drsMock, ec2Mock } = stagingAccount();
        await run(access, { apply: true, batch: 2, clock: fakeClock().clock });
        const actions = (prefix: string, m: typeof kmsMock | typeof drsMock | typeof ec2Mock) =>
            m.calls().map((c) => `${prefix}:${(c.args[0] as object).constructor.name.replace(/Command$/, "")}`);
        const called = new Set([...actions("kms", kmsMock), ...actions("drs", drsMock), ...actions("ec2", ec2Mock)]);
        const listed = commandPermissions["align-servers"].find((i) => i.id === "staging")!.calls.map((c) => c.action);
        expect([...called].sort()).to.deep.equal([...listed].sort());
        const help = alignServersHelp();
        for (const p of listed) expect(help).to.include(p);
        expect(help).to.include("drs:UpdateReplicationConfiguration (--apply) with its 7 dependent");
    });

    describe("--batch: a few servers at a time, each waited for until it has a point in time on the key", () => {
        it("moves a batch, waits with progress until each is CONTINUOUS with its newest point in time on the key, then the next", async () => {
            const { access, drsMock, pit, states } = stagingAccount();
            // web-1 resyncs (RESCAN, then CONTINUOUS with a point in time still on aws/ebs, then on the key); db-1 comes back at once.
            // The plan's listing reads the first state.
            states.set("s-0123456789abcd001", ["CONTINUOUS", "RESCAN", "CONTINUOUS"]);
            pit.set("s-0123456789abcd001", undefined);
            let reads = 0;
            drsMock.on(DescribeRecoverySnapshotsCommand).callsFake(async (input: { sourceServerID: string }) => {
                if (input.sourceServerID === "s-0123456789abcd001" && ++reads === 2) pit.delete("s-0123456789abcd001");
                return {
                    items: [{ snapshotID: "pit", timestamp: "2026-12-04T11:00:00Z", ebsSnapshots: [`snap-${input.sourceServerID}`] }],
                };
            });
            const { clock, sleeps } = fakeClock();
            const { code, out, err } = await run(access, { apply: true, batch: 1, clock, pollMs: 60_000 });
            expect(code).to.equal(0);
            // The order: a move, its wait, then the next move.
            const order = drsMock
                .calls()
                .map((c) => c.args[0] as { constructor: { name: string }; input: { sourceServerID?: string } })
                .filter((c) => ["UpdateReplicationConfigurationCommand", "DescribeRecoverySnapshotsCommand"].includes(c.constructor.name))
                .map((c) => `${c.constructor.name.replace(/Command$/, "")} ${c.input.sourceServerID}`);
            expect(order.indexOf("UpdateReplicationConfiguration s-0123456789abcd002")).to.be.greaterThan(
                order.lastIndexOf("DescribeRecoverySnapshots s-0123456789abcd001"),
            );
            expect(sleeps).to.deep.equal([60_000, 60_000]);
            expect(err).to.include("Waiting for batch 1 to resync onto the key: s-0123456789abcd001 RESCAN...\n");
            expect(err).to.include(
                "Waiting for batch 1 to resync onto the key: s-0123456789abcd001 CONTINUOUS (its newest point in time (2026-12-04T11:00:00Z) is not on the key yet)...\n",
            );
            expect(err).to.include(
                "  s-0123456789abcd001: back on CONTINUOUS replication; point in time 2026-12-04T11:00:00Z is on the key.\n",
            );
            expect(out).to.include("Moving 2 servers, 1 at a time:");
            expect(out).to.include("2 servers confirmed with a point in time on the key.");
        });

        it("stops at the time limit while a batch resyncs, naming the servers and the command that resumes (exit 1)", async () => {
            const { access, states } = stagingAccount();
            states.set("s-0123456789abcd001", ["CONTINUOUS", "RESCAN"]);
            const { clock } = fakeClock();
            const { code, err } = await run(access, {
                apply: true,
                batch: 1,
                clock,
                deadline: new Deadline(clock, 5),
                resume: "npm run -s align-servers -- -s staging --apply",
            });
            expect(code).to.equal(1);
            expect(err).to.include(
                "error: stopped at s-0123456789abcd001 in 444455556666/us-east-1: the 5-minute --time-limit was reached while waiting for batch 1. " +
                    "1 server was moved before it. Resume: npm run -s align-servers -- -s staging --apply --batch 1 (servers already on the key are skipped; those still resyncing are waited for first).\n",
            );
        });

        it("a resumed run waits first for servers on the key whose newest point in time is not on it yet", async () => {
            const { access, drsMock, pit, state } = stagingAccount();
            // web-1 was moved by the interrupted run: on the key now, its newest point in time still on aws/ebs.
            state.set("s-0123456789abcd001", { ebsEncryption: "CUSTOM", ebsEncryptionKeyArn: keyArn });
            pit.set("s-0123456789abcd001", undefined);
            let reads = 0;
            drsMock.on(DescribeRecoverySnapshotsCommand).callsFake(async (input: { sourceServerID: string }) => {
                if (input.sourceServerID === "s-0123456789abcd001" && ++reads === 3) pit.delete("s-0123456789abcd001");
                return {
                    items: [{ snapshotID: "pit", timestamp: "2026-12-04T11:00:00Z", ebsSnapshots: [`snap-${input.sourceServerID}`] }],
                };
            });
            const { code, out, err } = await run(access, { apply: true, batch: 5, clock: fakeClock().clock });
            expect(code).to.equal(0);
            expect(out).to.include(
                "  resyncing s-0123456789abcd001 (web-1): on the key, but its newest point in time (2026-12-04T11:00:00Z) is not on the key yet",
            );
            expect(err).to.include("Waiting first for 1 servers moved earlier to have a point in time on the key...");
            expect(updatedIds(drsMock)).to.deep.equal(["s-0123456789abcd002"]);
            expect(err.indexOf("s-0123456789abcd001: back on CONTINUOUS")).to.be.within(
                0,
                err.indexOf("s-0123456789abcd002: back on CONTINUOUS"),
            );
        });

        it("goes with --apply only (the command line)", async () => {
            const r = spawnCli("align-servers", "-s", "staging", "--outputs", "-", "--batch", "2");
            expect([r.status, r.stderr]).to.deep.equal([2, "error: --batch goes with --apply: a dry run moves nothing.\n"]);
            const zero = spawnCli("align-servers", "-s", "staging", "--outputs", "-", "--apply", "--batch", "0");
            expect([zero.status, zero.stderr]).to.deep.equal([2, "error: --batch 0: give the servers, 1 or more and at most 300.\n"]);
        });
    });

    describe("a write sent once", () => {
        const lost = () => Object.assign(new Error("socket hang up"), { name: "Error", code: "ECONNRESET" });

        it("an answer lost after DRS made the change: a re-read shows the server on the key, and it is not sent again", async () => {
            const { access, drsMock, state } = stagingAccount();
            drsMock.on(UpdateReplicationConfigurationCommand).callsFake(async (input: any) => {
                state.set(input.sourceServerID, { ebsEncryption: "CUSTOM", ebsEncryptionKeyArn: input.ebsEncryptionKeyArn });
                throw lost();
            });
            const { code, out } = await run(access, { apply: true, servers: ["s-0123456789abcd001"] });
            expect(code).to.equal(0);
            expect(out).to.include(
                `  moved   s-0123456789abcd001 (web-1): was DEFAULT (the AWS managed key aws/ebs) (the answer was lost; a re-read shows it on the key), now on ${keyArn}`,
            );
            expect(updatedIds(drsMock)).to.deep.equal(["s-0123456789abcd001"]);
        });

        it("an answer lost before DRS made it: failed, saying it was not sent again (exit 1)", async () => {
            const { access, drsMock } = stagingAccount();
            drsMock.on(UpdateReplicationConfigurationCommand).rejects(lost());
            const { code, out } = await run(access, { apply: true, servers: ["s-0123456789abcd001"] });
            expect(code).to.equal(1);
            expect(out).to.include(
                "  failed  s-0123456789abcd001 (web-1): Error: socket hang up: the answer was lost, and a re-read shows it still on DEFAULT (the AWS managed key aws/ebs); it was not sent again",
            );
            expect(updatedIds(drsMock)).to.deep.equal(["s-0123456789abcd001"]);
        });
    });

    it("counts a server whose extension failed (EXTENSION_ERROR) as extended: it replicates in the other account", async () => {
        const { access, drsMock } = stagingAccount([
            ...fleet(),
            { id: "s-0123456789abcd006", hostname: "broken-ext", ebsEncryption: "DEFAULT", extended: "EXTENSION_ERROR" },
        ]);
        const [k] = (await planAlignment([key], access)).keys;
        expect(k.replicating).to.equal(4);
        const read = drsMock.commandCalls(GetReplicationConfigurationCommand).map((c) => c.args[0].input.sourceServerID);
        expect(read).not.to.include("s-0123456789abcd006");
    });

    describe("an old customer managed key: can the target still use its points in time?", () => {
        it("says so when its policy does not let the target use it", async () => {
            const { access, kmsMock } = stagingAccount();
            kmsMock.on(GetKeyPolicyCommand).resolves({ Policy: oldKeyPolicy(false) });
            const { out, code } = await run(access);
            expect(out).to.include(
                `  old key ${oldKeyArn} (1 server): its policy does not let ${target} use it: points in time taken before the move are not recoverable there.`,
            );
            expect(code).to.equal(1);
        });

        it("is not checked, and says why, when its policy may not be read (exit 3 once nothing is left to move)", async () => {
            const { access, kmsMock, state } = stagingAccount();
            kmsMock.on(GetKeyPolicyCommand).rejects(denied("kms:GetKeyPolicy"));
            const [k] = (await planAlignment([key], access, { targets: [target] })).keys;
            expect(k.oldKeys[0].notChecked).to.match(
                /^the credentials for 444455556666 were refused kms:GetKeyPolicy \(AccessDeniedException/,
            );
            // Moved already (the plan still shows the old key of a server it cannot read the key of): 3.
            state.set("s-0123456789abcd001", { ebsEncryption: "CUSTOM", ebsEncryptionKeyArn: keyArn });
            const one = await run(access, { servers: ["s-0123456789abcd002"] });
            expect(one.code).to.equal(1);
        });
    });
});

describe("align-servers command line", () => {
    const cli = (...args: string[]) => spawnCli("align-servers", ...args);

    it("--help: usage, the dry-run default, --apply, what it never does, re-runs, permissions (exit 0)", () => {
        const run = cli("--help");
        expect(run.status).to.equal(0);
        expect(run.stdout).to.match(/^Usage: drs-cross-account-kms align-servers -s <stack> \[options\]\n/);
        for (const text of [
            "A dry run by default",
            "--apply ",
            "--server <id>",
            "--json ",
            "npm run -s align-servers -- -s staging --outputs outputs.json --server s-1234567890abcdef0 --apply",
            "It never touches a server already on the key, never changes any other replication setting",
            "never resent), and never changes the replication template.",
            "partial failure run it again",
            "--batch <n>",
            "--include-unencrypted",
            "drs:DescribeSourceServers; drs:GetReplicationConfiguration; kms:DescribeKey;",
            "drs:UpdateReplicationConfiguration (--apply) with its 7 dependent\n    actions",
            "--print-policy [staging|you]",
            "Exit codes: 0 nothing to move (or everything moved), 1 servers to move (dry run), a server failed, or a run stopped with servers left, 2 could not run",
            "3 nothing failed, but some checks could not run",
        ]) {
            expect(run.stdout).to.include(text);
        }
    });

    it("exits 2 on a bad argument, a missing --outputs, and outputs without staging keys", () => {
        const bad = cli("--stack", "staging", "--outputs", "-", "--force");
        expect([bad.status, bad.stdout, bad.stderr]).to.deep.equal([2, "", "error: unknown option '--force'\n"]);

        const missing = cli("--stack", "staging", "--apply");
        expect(missing.status).to.equal(2);
        expect(missing.stderr).to.match(
            /^error: --outputs is required: the Pulumi CLI is not on PATH, so align-servers cannot read the stack's outputs itself\./,
        );

        const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), "drs-align-")), "outputs.json");
        fs.writeFileSync(file, JSON.stringify({ targetAccountId: "111122223333" }));
        const noKeys = cli("--stack", "staging", "--outputs", file, "--json");
        expect([noKeys.status, noKeys.stdout]).to.deep.equal([2, ""]);
        expect(noKeys.stderr).to.match(/^error: The stack outputs have no stagingKeys/);
    });
});
