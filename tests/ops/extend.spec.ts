// extend on mocked target and staging accounts (tests/support/extendWorld.ts): the plan, the
// batches, re-runs, DRS's refusals, stops, lost answers, --server, the staging side unreachable,
// pages, --json, the permissions table, and the command line.
import {
    CreateExtendedSourceServerCommand,
    DescribeSourceServersCommand,
    GetReplicationConfigurationCommand,
    ListExtensibleSourceServersCommand,
} from "@aws-sdk/client-drs";
import { expect } from "chai";
import { run as runCli } from "../../cli";
import { Deadline } from "../../ops/clock";
import { CannotExtend, applyExtension, extendHelp, extendTags, planExtension } from "../../ops/extend";
import { commandPermissions } from "../../ops/permissions";
import { spawnCli } from "../support/mocks";
import {
    app,
    arnOf,
    awsError,
    batchServer,
    createdIds,
    creates,
    db,
    denied,
    extendWorld,
    fakeClock,
    files,
    input,
    key,
    keyArn,
    otherKeyArn,
    readyFleet,
    region,
    runExtend,
    runExtendCli,
    spare,
    staging,
    target,
    web,
    writeStagingStackFile,
    writeTargetStack,
} from "../support/extendWorld";

async function cannotExtend(body: () => Promise<unknown>): Promise<string> {
    try {
        await body();
    } catch (err) {
        expect(err).to.be.instanceOf(CannotExtend);
        return (err as Error).message;
    }
    throw new Error("expected CannotExtend");
}

const tags = extendTags();
const header = `${staging}/${region} -> ${target}`;
const tagLine = "Tags on each extended server: ManagedBy=drs-cross-account-kms extend, Project=drs-cross-account-kms.";
const alignAdvice = (id: string) =>
    `Move it onto the staging key first: npm run -s align-servers -- -s staging --server ${id} --apply (a full sync may follow), then run extend again.`;
/** The SDK commands a mock received, as `Name input-id` (the sourceServerArn's ID, or the IDs a DescribeSourceServers filters on). */
const sent = (m: ReturnType<typeof extendWorld>["targetMock"]) =>
    m.calls().map((c) => {
        const command = c.args[0] as { constructor: { name: string }; input: Record<string, any> };
        const name = command.constructor.name.replace(/Command$/, "");
        const ids = command.input.sourceServerArn
            ? [/source-server\/(s-\w+)$/.exec(command.input.sourceServerArn)![1]]
            : (command.input.filters?.sourceServerIDs ?? []);
        return [name, ...ids].join(" ");
    });

describe("extend", () => {
    it("a dry run: each server classified (to extend, extended already, on the default key, not replicating), nothing written (exit 1)", async () => {
        const w = extendWorld();
        const { code, out, err } = await runExtend(w);
        expect(out.split("\n")).to.deep.equal([
            "Dry run: nothing is changed. Run again with --apply to extend the servers listed.",
            "",
            `${header}: DRS lists 4 as extensible; 1 already extended, 2 to extend, 2 not extended`,
            `  extend     ${web} (web-1): CONTINUOUS, CUSTOM ${keyArn}`,
            `  extend     ${db} (db-1): INITIAL_SYNC, CUSTOM ${keyArn}`,
            `  cannot     ${files} (files-1): on DEFAULT (the AWS managed key aws/ebs): DRS cannot extend a server on the default EBS key. ${alignAdvice(files)}`,
            `  not ready  ${batchServer} (batch-1): its data replication is STALLED (healthy: CONTINUOUS, INITIAL_SYNC, RESCAN): extend it once it replicates again`,
            "",
            tagLine,
            "",
            "2 servers to extend. Run again with --apply to extend them (10 at a time; --batch).",
            `2 servers are not extended (listed above): ${target} cannot recover them until they are.`,
            "",
        ]);
        expect(err).to.include(
            `Reading ${staging}/${region}: the servers DRS lists as extensible into ${target}, and those extended already...\n`,
        );
        expect(code).to.equal(1);
        for (const m of [w.targetMock, w.stagingMock]) expect(m.commandCalls(CreateExtendedSourceServerCommand)).to.have.length(0);

        const [k] = (await planExtension([key], target, tags, w.access)).keys;
        expect(k.toExtend.map((s) => s.sourceServerID)).to.deep.equal([web, db]);
        expect(k.alreadyExtended.map((s) => [s.sourceServerID, s.extendedServerID, s.status])).to.deep.equal([
            [app, "s-e0000000000000001", "EXTENDED"],
        ]);
        expect(k.cannotExtend.map((s) => [s.sourceServerID, s.reason])).to.deep.equal([
            [files, "default-key"],
            [batchServer, "not-replicating"],
        ]);
        expect(k.toExtend[0]).to.deep.include({ arn: arnOf(web), replicationState: "CONTINUOUS" });
        expect(k.toExtend[0].notChecked).to.equal(undefined);
    });

    it("--apply --batch 2: three servers in two batches, each batch read back until extended before the next, with the stack's tags (exit 0)", async () => {
        const w = extendWorld(readyFleet());
        w.settling.set(db, ["NOT_EXTENDED", "EXTENDED"]);
        const { clock, sleeps } = fakeClock();
        const { code, out, err } = await runExtend(w, { apply: true, batch: 2, clock, pollMs: 20_000 });
        expect(code, err).to.equal(0);
        expect(out).to.include(
            [
                "Extending 3 servers into 111122223333, 2 at a time:",
                `  extended   ${web} (web-1): extended as s-e0000000000000001 in ${target}`,
                `  extended   ${db} (db-1): extended as s-e0000000000000002 in ${target}`,
                `  extended   ${spare} (spare-1): extended as s-e0000000000000003 in ${target}`,
                "",
                "3 extended, 0 skipped (already extended), 0 failed.",
                "",
            ].join("\n"),
        );
        // Batch 1 is created, then read back (db-1 once more after a poll), and only then batch 2.
        expect(sent(w.targetMock).filter((c) => !c.startsWith("ListExtensible"))).to.deep.equal([
            "DescribeSourceServers", // the plan
            "DescribeSourceServers", // the re-read before batch 1
            `CreateExtendedSourceServer ${web}`,
            `CreateExtendedSourceServer ${db}`,
            "DescribeSourceServers s-e0000000000000001 s-e0000000000000002",
            "DescribeSourceServers s-e0000000000000002",
            "DescribeSourceServers", // the re-read before batch 2
            `CreateExtendedSourceServer ${spare}`,
            "DescribeSourceServers s-e0000000000000003",
        ]);
        expect(sleeps).to.deep.equal([20_000]);
        expect(err).to.include("Batch 1 of 2: extending 2 servers...\n");
        expect(err).to.include("Waiting for batch 1 to be extended: s-e0000000000000002 NOT_EXTENDED...\n");
        expect(err).to.include("Batch 2 of 2: extending 1 server...\n");
        for (const i of creates(w)) {
            expect(Object.keys(i).sort()).to.deep.equal(["sourceServerArn", "tags"]);
            expect(i.tags).to.deep.equal({ ManagedBy: "drs-cross-account-kms extend", Project: "drs-cross-account-kms" });
        }
        expect(w.extended.get(web)?.tags).to.deep.equal(tags);
    });

    it("a re-run after a full apply is a no-op: nothing sent (exit 0)", async () => {
        const w = extendWorld(readyFleet());
        expect((await runExtend(w, { apply: true })).code).to.equal(0);
        w.targetMock.resetHistory();
        const again = await runExtend(w, { apply: true });
        expect(again.code).to.equal(0);
        expect(again.out).to.include(`${header}: DRS lists 0 as extensible; 3 already extended, 0 to extend, 0 not extended\n`);
        expect(again.out).to.include(`Nothing to extend: every server DRS lists is extended into ${target}.`);
        expect(w.targetMock.commandCalls(CreateExtendedSourceServerCommand)).to.have.length(0);
    });

    it("re-reads the target before each batch and skips a server extended meanwhile (another run, the console)", async () => {
        const w = extendWorld(readyFleet());
        const plan = await planExtension([key], target, tags, w.access);
        // Extended from elsewhere between the plan and the batch.
        await w.access
            .drs(target, region)
            .then((drs) => drs.send(new CreateExtendedSourceServerCommand({ sourceServerArn: arnOf(db), tags: {} })));
        w.targetMock.resetHistory();
        const reported: string[] = [];
        const outcome = await applyExtension(plan, w.access, (r) => reported.push(`${r.status} ${r.sourceServerID}`), {
            clock: fakeClock().clock,
        });
        expect(reported).to.deep.equal([`skipped ${db}`, `extended ${web}`, `extended ${spare}`]);
        expect(outcome.results.find((r) => r.sourceServerID === db)?.message).to.equal(
            "already extended as s-e0000000000000001 (EXTENDED)",
        );
        expect(createdIds(w)).to.deep.equal([web, spare]);
    });

    it("a re-read before a batch that fails (not for access): its servers fail, and nothing is created blind", async () => {
        const w = extendWorld(readyFleet());
        const plan = await planExtension([key], target, tags, w.access);
        w.targetMock
            .on(DescribeSourceServersCommand)
            .rejects(awsError("InternalServerException", "Internal error", { $fault: "server", $metadata: { httpStatusCode: 500 } }));
        const outcome = await applyExtension(plan, w.access, () => undefined, { clock: fakeClock().clock });
        expect(outcome.stopped).to.equal(undefined);
        expect(outcome.results.map((r) => [r.sourceServerID, r.status])).to.deep.equal([
            [web, "failed"],
            [db, "failed"],
            [spare, "failed"],
        ]);
        expect(outcome.results[0].message).to.equal(
            "not created: the target's extended servers could not be re-read before the batch (InternalServerException: Internal error); run again",
        );
        expect(createdIds(w)).to.deep.equal([]);
    });

    it("the staging account unreachable: plans from the target side alone, says so, and touches nothing in it", async () => {
        const w = extendWorld();
        w.stagingReachable = false;
        const { code, out } = await runExtend(w);
        expect(code).to.equal(1);
        expect(out).to.include(
            [
                `${header}: DRS lists 4 as extensible; 1 already extended, 4 to extend, 0 not extended`,
                `  The staging account was not read: cannot reach account ${staging}: the current credentials are for account ${target}, and the config names no roleArn for ${staging} (give a role there with --staging-role, or run on a stack whose config names stagingAccounts[].roleArn).`,
                "  Planned from the target side alone: a server on the default EBS key or not replicating shows only when DRS refuses it.",
                `  extend     ${web} (web-1): not checked: the staging account was not read`,
            ].join("\n"),
        );
        expect(out).to.include(
            "Some servers were planned without their staging account: DRS refuses those on the default EBS key, and does not say whether they replicate.",
        );
        expect(w.stagingMock.calls()).to.have.length(0);
    });

    it("DRS's ValidationException for a default-key server: failed with DRS's message and align-servers' command; the others extended (exit 1)", async () => {
        const w = extendWorld();
        w.stagingReachable = false; // so only DRS can tell
        const { code, out } = await runExtend(w, { apply: true });
        expect(code).to.equal(1);
        expect(out).to.include(
            `  failed     ${files} (files-1): ValidationException: Source server ${arnOf(files)} cannot be extended if it has the default EBS encryption key. ${alignAdvice(files)}\n`,
        );
        expect(out).to.include("3 extended, 0 skipped (already extended), 1 failed.\nRun again to retry the failed servers");
        expect(createdIds(w)).to.deep.equal([web, db, files, batchServer]);
    });

    it("every server extended without its staging side read: nothing failed, but not all was checked (exit 3)", async () => {
        const w = extendWorld(readyFleet());
        w.stagingReachable = false;
        expect((await runExtend(w, { apply: true })).code).to.equal(3);
    });

    it("AccessDenied mid-batch stops the run, names drs:CreateExtendedSourceServer, and lists what was extended before it (exit 1)", async () => {
        const w = extendWorld(readyFleet());
        w.failing.set(db, denied("drs:CreateExtendedSourceServer"));
        const resume = "npm run -s extend -- -s target --apply";
        const { code, out, err } = await runExtend(w, { apply: true, resume });
        expect(code).to.equal(1);
        expect(createdIds(w)).to.deep.equal([web, db]); // spare-1 never attempted
        expect(out).to.include(`  extended   ${web} (web-1): extended as s-e0000000000000001 in ${target}\n`);
        expect(out).to.include("1 extended, 0 skipped (already extended), 0 failed.");
        expect(err).to.match(
            new RegExp(
                `^error: stopped at ${db} in ${staging}/${region}: the credentials for ${target} lack drs:CreateExtendedSourceServer \\(AccessDeniedException: .*\\)\\. ` +
                    `1 server was extended before it \\(${web} as s-e0000000000000001\\); 2 servers left\\. ` +
                    `Grant drs:CreateExtendedSourceServer in ${target}, then resume: ${resume} \\(servers already extended are skipped\\)\\.$`,
                "m",
            ),
        );

        const again = extendWorld(readyFleet());
        again.failing.set(db, denied("drs:CreateExtendedSourceServer"));
        const json = await runExtend(again, { apply: true, json: true, resume });
        const doc = JSON.parse(json.out);
        expect(doc.exitCode).to.equal(1);
        expect(doc.results.map((r: any) => [r.sourceServerID, r.status, r.extendedServerID])).to.deep.equal([
            [web, "extended", "s-e0000000000000001"],
        ]);
        expect(doc.stopped).to.deep.include({
            accountId: target,
            at: db,
            reason: "access",
            action: "drs:CreateExtendedSourceServer",
            permission: "drs:CreateExtendedSourceServer",
            extended: 1,
            extendedServers: [{ sourceServerID: web, extendedServerID: "s-e0000000000000001" }],
            left: 2,
            resume,
        });
    });

    it("an access stop before anything was extended could not run (exit 2)", async () => {
        const w = extendWorld(readyFleet());
        w.failing.set(web, denied("drs:CreateExtendedSourceServer"));
        expect((await runExtend(w, { apply: true })).code).to.equal(2);
        expect(createdIds(w)).to.deep.equal([web]);
    });

    it("throttling past the SDK's retries stops the run with an account of what was done, in text and --json (exit 1)", async () => {
        const w = extendWorld(readyFleet());
        w.failing.set(spare, awsError("ThrottlingException", "Rate exceeded", { $fault: "client", $metadata: { httpStatusCode: 429 } }));
        const { code, out, err } = await runExtend(w, { apply: true, json: true });
        expect(code).to.equal(1);
        expect(err).to.include(
            `error: stopped at ${spare} in ${staging}/${region}: DRS kept throttling drs:CreateExtendedSourceServer past the SDK's retries (ThrottlingException: Rate exceeded): wait a few minutes. ` +
                `2 servers were extended before it (${web} as s-e0000000000000001, ${db} as s-e0000000000000002); 1 server left. Resume: npm run -s extend -- -s <stack> --apply`,
        );
        const doc = JSON.parse(out);
        expect([doc.stopped.reason, doc.stopped.extended, doc.stopped.left]).to.deep.equal(["throttled", 2, 1]);
        expect(doc.results.map((r: any) => r.status)).to.deep.equal(["extended", "extended"]);
    });

    describe("a create sent once", () => {
        it("an answer lost after DRS created it: a re-read finds it, it counts as extended, and it is not sent again (exit 0)", async () => {
            const w = extendWorld(readyFleet());
            w.lost.add(web);
            const { code, out } = await runExtend(w, { apply: true, servers: [web] });
            expect(code).to.equal(0);
            expect(out).to.include(
                `  extended   ${web} (web-1): extended as s-e0000000000000001 in ${target} (Error: socket hang up; a re-read found it)\n`,
            );
            expect(createdIds(w)).to.deep.equal([web]);
        });

        it("an answer lost before DRS created it (a 500): failed, saying it was not sent again (exit 1)", async () => {
            const w = extendWorld(readyFleet());
            w.failing.set(
                web,
                awsError("InternalServerException", "Internal error", { $fault: "server", $metadata: { httpStatusCode: 500 } }),
            );
            const { code, out } = await runExtend(w, { apply: true, servers: [web] });
            expect(code).to.equal(1);
            expect(out).to.include(
                `  failed     ${web} (web-1): InternalServerException: Internal error: the answer was lost, and a re-read of the target finds no extended server for it; it was not sent again\n`,
            );
            expect(createdIds(w)).to.deep.equal([web]);
        });
    });

    it("a server that ends in EXTENSION_ERROR after its create: reported with DRS's message (exit 1)", async () => {
        const w = extendWorld(readyFleet());
        w.settling.set(web, ["EXTENSION_ERROR"]);
        const { code, out } = await runExtend(w, { apply: true, servers: [web] });
        expect(code).to.equal(1);
        expect(out).to.include(
            `  error      ${web} (web-1): created as s-e0000000000000001, but its extension failed: Failed to access the staging source server\n`,
        );
        expect(out).to.include("0 extended, 0 skipped (already extended), 0 failed, 1 extension error.");
    });

    it("a batch still NOT_EXTENDED when its wait runs out: created, not seen extended (exit 3); a re-run does not create it again", async () => {
        const w = extendWorld(readyFleet());
        w.settling.set(web, ["NOT_EXTENDED"]);
        const { clock, sleeps } = fakeClock();
        const { code, out } = await runExtend(w, { apply: true, servers: [web], clock, pollMs: 60_000, batchWaitMs: 3 * 60_000 });
        expect(code).to.equal(3);
        expect(sleeps).to.deep.equal([60_000, 60_000, 60_000]);
        expect(out).to.include(
            `  created    ${web} (web-1): created as s-e0000000000000001; still not extended after 3 minutes: a re-run reads it again, and does not create it twice\n`,
        );
        const again = await runExtend(w, { apply: true, servers: [web] });
        expect(again.out).to.include("1 already extended, 0 to extend");
        expect(createdIds(w)).to.deep.equal([web]);
    });

    it("stops at the time limit before the next batch, naming what it extended (exit 1)", async () => {
        const w = extendWorld(readyFleet());
        w.settling.set(web, ["NOT_EXTENDED"]);
        const { clock } = fakeClock();
        const { code, err } = await runExtend(w, { apply: true, batch: 1, clock, deadline: new Deadline(clock, 2), pollMs: 60_000 });
        expect(code).to.equal(1);
        expect(createdIds(w)).to.deep.equal([web]);
        expect(err).to.include(
            `error: stopped at ${db} in ${staging}/${region}: the 2-minute --time-limit was reached before ${db}. 1 server was extended before it (${web} as s-e0000000000000001); 2 servers left.`,
        );
    });

    it("Ctrl-C (the signal) stops before the next create", async () => {
        const w = extendWorld(readyFleet());
        const controller = new AbortController();
        const reported: string[] = [];
        const plan = await planExtension([key], target, tags, w.access);
        const outcome = await applyExtension(
            plan,
            w.access,
            (r) => {
                reported.push(r.sourceServerID);
                controller.abort();
            },
            { batch: 1, signal: controller.signal, clock: fakeClock().clock },
        );
        expect(reported).to.deep.equal([web]);
        expect(outcome.stopped).to.deep.include({ reason: "interrupted", at: db, extended: 1, left: 2 });
        expect(createdIds(w)).to.deep.equal([web]);
    });

    it("an EC2 source DRS refuses for its Marketplace licences: DRS's message, and the roles its account needs for the staging account", async () => {
        const w = extendWorld([{ id: web, hostname: "web-1", originAccountId: "777788889999" }]);
        w.failing.set(
            web,
            awsError("ValidationException", "Unable to retrieve AWS Marketplace license information for the source instance", {
                $fault: "client",
            }),
        );
        const { code, out } = await runExtend(w, { apply: true });
        expect(code).to.equal(1);
        expect(out).to.include(
            `  failed     ${web} (web-1): ValidationException: Unable to retrieve AWS Marketplace license information for the source instance. ` +
                `An EC2 source with Marketplace licences from another account is extended only when that account has DRS's "Failback and in-AWS right-sizing" roles for ${staging}: ` +
                `in account 777788889999, DRSCrossAccountReplicationRole_${staging}, DRSCrossAccountAgentRole_${staging}, DRSCrossAccountAgentAuthorizedRole_${staging}. ` +
                `Add ${staging} as a trusted account with those roles there (DRS console, Settings, Trusted accounts), then run extend again.\n`,
        );
    });

    it("--server picks servers by ID or ARN; an ID in no staging account's list is refused before anything is sent", async () => {
        const w = extendWorld();
        const { code, out } = await runExtend(w, { apply: true, servers: [db] });
        expect(code).to.equal(0); // files-1 and batch-1 are not named: only db-1 is judged
        expect(out).to.include(
            `${header}: DRS lists 4 as extensible (1 named by --server); 0 already extended, 1 to extend, 0 not extended\n`,
        );
        expect(createdIds(w)).to.deep.equal([db]);

        const named = await runExtendCli(extendWorld(readyFleet()), [
            "--server",
            `${arnOf(web)},${spare}`,
            "--apply",
            "--staging-role",
            `arn:aws:iam::${staging}:role/DrsReadOnly`,
        ]);
        expect(named.code, named.err).to.equal(0);
        expect(named.out).to.include("(2 named by --server); 0 already extended, 2 to extend");

        const fresh = extendWorld();
        const message = await cannotExtend(() => runExtend(fresh, { apply: true, servers: [web, "s-0123456789abcd999"] }));
        expect(message).to.equal(
            `--server s-0123456789abcd999: in no staging account's list for ${target} (neither extensible into it, extended there, nor replicating in a staging account of the stack). Nothing was changed.`,
        );
        expect(createdIds(fresh)).to.deep.equal([]);
        const cli = await runExtendCli(fresh, ["--server", "s-0123456789abcd999", "--apply"]);
        expect([cli.code, cli.out]).to.deep.equal([2, ""]);
        expect(cli.err).to.match(/^Reading[\s\S]*error: --server s-0123456789abcd999: in no staging account's list/);
        expect(createdIds(fresh)).to.deep.equal([]);
    });

    it("reads every page of ListExtensibleSourceServers", async () => {
        const many = Array.from({ length: 5 }, (_, i) => ({ id: `s-0123456789abcd1${i}0`, hostname: `host-${i}` }));
        const w = extendWorld(many, { pageSize: 2 });
        const [k] = (await planExtension([key], target, tags, w.access)).keys;
        expect([k.extensible, k.toExtend.length]).to.deep.equal([5, 5]);
        const asked = w.targetMock.commandCalls(ListExtensibleSourceServersCommand).map((c) => c.args[0].input);
        expect(asked.map((i) => i.nextToken)).to.deep.equal([undefined, "page-2", "page-4"]);
        expect(asked.every((i) => i.stagingAccountID === staging && i.maxResults === 300)).to.equal(true);
    });

    it("not extended, with why: an extension error already in the target, a server DRS does not list; one left out on purpose is no finding", async () => {
        const w = extendWorld([
            { id: web, hostname: "web-1", extended: "EXTENSION_ERROR" },
            { id: db, hostname: "db-1", unlisted: true },
            { id: spare, hostname: "spare-1", ebsEncryption: "CUSTOM", ebsEncryptionKeyArn: otherKeyArn },
            { id: app, hostname: "app-1" },
        ]);
        const leftOut = [{ sourceServerId: app, reason: "decommissioned in March" }];
        const { code, out } = await runExtend(w, {}, input({ leftOut }));
        expect(code).to.equal(1);
        expect(out).to.include(
            [
                `${header}: DRS lists 2 as extensible; 0 already extended, 1 to extend, 2 not extended, 1 left out on purpose`,
                `  extend     ${spare} (spare-1): CONTINUOUS, CUSTOM ${otherKeyArn}; warning: on another key than the entry's (${otherKeyArn}): the target recovers it only if that key's policy lets it; align-servers moves it onto ${keyArn}`,
                `  error      ${web} (web-1): extended as s-e0000000000000001, but its extension failed (EXTENSION_ERROR): Failed to access the staging source server`,
                `  not listed ${db} (db-1): replicates in ${staging}/${region}, but DRS does not list it as extensible into ${target}, and it is not extended there`,
                `  left out   ${app} (app-1): target.unprotectedServers says: decommissioned in March`,
            ].join("\n"),
        );
        const applied = await runExtend(w, { apply: true }, input({ leftOut }));
        expect(createdIds(w)).to.deep.equal([spare]);
        expect(applied.code).to.equal(1); // the extension error and db-1 remain
    });

    it("--json: one document on stdout (mode, plan, results, stopped, exitCode); the words on stderr", async () => {
        const w = extendWorld();
        const dry = await runExtend(w, { json: true });
        const doc = JSON.parse(dry.out);
        expect(Object.keys(doc)).to.deep.equal(["mode", "plan", "results", "stopped", "exitCode"]);
        expect([doc.mode, doc.results, doc.stopped, doc.exitCode, dry.code]).to.deep.equal(["dry-run", [], null, 1, 1]);
        expect(Object.keys(doc.plan)).to.deep.equal(["targetAccountId", "tags", "keys", "unknownServers"]);
        expect(doc.plan.keys[0].cannotExtend.map((c: any) => c.reason)).to.deep.equal(["default-key", "not-replicating"]);
        expect(dry.err).to.include("2 servers to extend. Run again with --apply");

        const applied = JSON.parse((await runExtend(w, { apply: true, json: true })).out);
        expect(applied.mode).to.equal("apply");
        expect(applied.results.map((r: any) => [r.sourceServerID, r.status])).to.deep.equal([
            [web, "extended"],
            [db, "extended"],
        ]);
    });

    it("cannot plan without the target's permission, and sends nothing", async () => {
        const w = extendWorld();
        w.targetMock.on(ListExtensibleSourceServersCommand).rejects(denied("drs:ListExtensibleSourceServers"));
        const message = await cannotExtend(() => runExtend(w, { apply: true }));
        expect(message).to.match(
            /^Could not plan: the credentials for 111122223333 lack drs:ListExtensibleSourceServers .*Nothing was changed\.$/,
        );
        expect(w.targetMock.commandCalls(CreateExtendedSourceServerCommand)).to.have.length(0);
    });

    it("a target side that does not answer is not planned, and says why (exit 3)", async () => {
        const w = extendWorld();
        w.targetMock
            .on(DescribeSourceServersCommand)
            .rejects(awsError("InternalServerException", "Internal error", { $fault: "server", $metadata: { httpStatusCode: 500 } }));
        const { code, out } = await runExtend(w, { apply: true });
        expect(code).to.equal(3);
        expect(out).to.include(
            `${header}: not planned\n  The target side could not be read: AWS in ${target} kept failing after the SDK's retries`,
        );
        expect(w.targetMock.commandCalls(CreateExtendedSourceServerCommand)).to.have.length(0);
    });

    it("calls exactly the actions the permissions table lists for the target and the staging account, and its help names them", async () => {
        const w = extendWorld();
        await runExtend(w, { apply: true });
        const actions = (m: typeof w.targetMock) =>
            new Set(m.calls().map((c) => `drs:${(c.args[0] as object).constructor.name.replace(/Command$/, "")}`));
        const listed = (id: string) =>
            commandPermissions.extend
                .find((i) => i.id === id)!
                .calls.map((c) => c.action)
                .sort();
        expect([...actions(w.targetMock)].sort()).to.deep.equal(listed("target"));
        expect([...actions(w.stagingMock)].sort()).to.deep.equal(listed("staging"));
        expect(w.stagingMock.commandCalls(GetReplicationConfigurationCommand).map((c) => c.args[0].input.sourceServerID)).to.deep.equal([
            web,
            db,
            files,
            batchServer,
        ]);
        const help = extendHelp();
        for (const p of [...listed("target"), ...listed("staging"), "drs:TagResource"]) expect(help).to.include(p);
    });
});

describe("extend command line", () => {
    it("--help: usage, the dry-run default, --apply, --batch, --staging-role, the Marketplace roles, permissions, exit codes (exit 0)", () => {
        const r = spawnCli("extend", "--help");
        expect(r.status).to.equal(0);
        expect(r.stdout).to.match(/^Usage: drs-cross-account-kms extend -s <stack> \[options\]\n/);
        for (const text of [
            "A dry run by default",
            "--apply ",
            "--batch <n>",
            "--server <id>",
            "--staging-role <arn>",
            "--target <account>",
            "npm run -s extend -- -s target --outputs outputs.json --server s-0123456789abcdef0 --apply",
            "npm run -s extend -- --print-policy target > extend-policy.json",
            "DRSCrossAccountAgentAuthorizedRole_<staging account>",
            "drs:ListExtensibleSourceServers; drs:DescribeSourceServers; drs:CreateExtendedSourceServer (--apply)",
            "--print-policy [target|staging|you]",
            "Exit codes: 0 nothing to extend (or everything extended), 1 servers to extend (dry run), servers that cannot be extended",
            "3 nothing failed, but some checks could not run",
        ])
            expect(r.stdout).to.include(text);
    });

    it("a flag it cannot take exits 2 with one line, before AWS", async () => {
        const w = extendWorld();
        for (const [args, message] of [
            [["--batch", "2"], "error: --batch goes with --apply: a dry run extends nothing.\n"],
            [["--apply", "--batch", "0"], "error: --batch 0: give the servers, 1 or more and at most 300.\n"],
            [["--apply", "--batch", "301"], "error: --batch 301: give the servers, 1 or more and at most 300.\n"],
            [["--server", "web-1"], "error: --server web-1: not a source server ID (s- and 17 characters) or a source server ARN.\n"],
            [
                ["--staging-role", "arn:aws:iam::999988887777:role/R"],
                "error: --staging-role for 999988887777: not a staging account of the stack (444455556666).\n",
            ],
            [["--target", "999988887777"], "error: --target 999988887777: not a target of stack target (111122223333).\n"],
        ] as const) {
            const r = await runExtendCli(w, [...args]);
            expect([r.code, r.out, r.err], args.join(" ")).to.deep.equal([2, "", message]);
        }
        expect(w.targetMock.calls()).to.have.length(0);
    });

    it("end to end on a target stack: --staging-role for the staging account, the config's tags on each server; a staging stack is refused", async () => {
        const w = extendWorld(readyFleet());
        const stack = writeTargetStack();
        const role = `arn:aws:iam::${staging}:role/DrsReadOnly`;
        const { code, out, err } = await runExtendCli(w, ["--staging-role", role, "--apply", "--batch", "2"], stack);
        expect(code, err).to.equal(0);
        expect(w.roles?.get(staging)).to.equal(role);
        expect(out).to.include("Extending 3 servers into 111122223333, 2 at a time:");
        expect(creates(w)[0].tags).to.deep.equal({ ...tags, CostCentre: "dr-1234" });

        const again = await runExtendCli(w, ["--staging-role", role, "--apply"], stack);
        expect(again.code).to.equal(0);
        expect(creates(w)).to.have.length(3);

        writeStagingStackFile(stack.dir);
        let said = "";
        const staged = await runCli(["extend", "-s", "staging", "--outputs", stack.outputsFile], {
            workspace: null,
            projectDir: stack.dir,
            io: { out: () => undefined, err: (t) => void (said += t) },
            access: () => w.access,
        });
        expect([staged, said]).to.deep.equal([
            2,
            "error: stack staging deploys the staging side only: run extend on the target stack (or a deploy: all stack). Give roles for the staging accounts with --staging-role.\n",
        ]);
    });
});
