import {
    DescribeSourceServersCommand,
    DrsClient,
    GetReplicationConfigurationCommand,
    SourceServer,
    UpdateReplicationConfigurationCommand,
} from "@aws-sdk/client-drs";
import { DescribeKeyCommand, KMSClient } from "@aws-sdk/client-kms";
import { mockClient } from "aws-sdk-client-mock";
import { expect } from "chai";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { StagingKeyExport } from "../config";
import {
    AlignOptions,
    CannotAlign,
    alignServers,
    alignServersHelp,
    applyAlignment,
    permissions,
    planAlignment,
} from "../tools/alignServers";
import { AwsAccess } from "../tools/awsAccess";
import { spawnCli } from "./mocks";

const staging = "444455556666";
const region = "us-east-1";
const keyId = "1234abcd-12ab-34cd-56ef-1234567890ab";
const keyArn = `arn:aws:kms:${region}:${staging}:key/${keyId}`;
const oldKeyArn = `arn:aws:kms:${region}:${staging}:key/0987dcba-09fe-87dc-65ba-ab0987654321`;
const key: StagingKeyExport = {
    accountId: staging,
    region,
    keyId,
    keyArn,
    aliasName: "alias/drs-cross-account-ebs",
    stagingRoleArn: `arn:aws:iam::${staging}:role/service-role/DRSStagingAccountRole_111122223333`,
};

interface FakeServer {
    id: string;
    hostname: string;
    ebsEncryption: "DEFAULT" | "CUSTOM" | "NONE";
    ebsEncryptionKeyArn?: string;
    extended?: boolean;
}

/** web-1 on aws/ebs, db-1 on another key, app-1 on the key, files-1 unencrypted, and one server extended from elsewhere. */
const fleet = (): FakeServer[] => [
    { id: "s-0123456789abcd001", hostname: "web-1", ebsEncryption: "DEFAULT" },
    { id: "s-0123456789abcd002", hostname: "db-1", ebsEncryption: "CUSTOM", ebsEncryptionKeyArn: oldKeyArn },
    { id: "s-0123456789abcd003", hostname: "app-1", ebsEncryption: "CUSTOM", ebsEncryptionKeyArn: keyArn },
    { id: "s-0123456789abcd004", hostname: "files-1", ebsEncryption: "NONE" },
    { id: "s-0123456789abcd005", hostname: "extended-1", ebsEncryption: "DEFAULT", extended: true },
];

const awsError = (name: string, message = name) => Object.assign(new Error(message), { name });
const denied = (action: string) =>
    awsError(
        "AccessDeniedException",
        `User: arn:aws:sts::${staging}:assumed-role/Ops/me is not authorized to perform: ${action} on resource: arn:aws:drs:${region}:${staging}:source-server/s-0123456789abcd002`,
    );

/**
 * A staging account whose DRS keeps each server's replication configuration: GetReplicationConfiguration
 * reads it, UpdateReplicationConfiguration changes it (unless `failing` names the server).
 */
function stagingAccount(servers: FakeServer[] = fleet()) {
    const kms = new KMSClient({ region });
    const drs = new DrsClient({ region });
    const kmsMock = mockClient(kms);
    const drsMock = mockClient(drs);
    const state = new Map(servers.map((s) => [s.id, { ebsEncryption: s.ebsEncryption, ebsEncryptionKeyArn: s.ebsEncryptionKeyArn }]));
    const failing = new Map<string, Error>();
    kmsMock.on(DescribeKeyCommand).resolves({ KeyMetadata: { KeyId: keyId, Arn: keyArn, KeyState: "Enabled" } });
    drsMock.on(DescribeSourceServersCommand).resolves({ items: servers.map(sourceServer) });
    drsMock.on(GetReplicationConfigurationCommand).callsFake(async (input: { sourceServerID: string }) => ({
        sourceServerID: input.sourceServerID,
        stagingAreaSubnetId: "subnet-0123456789abcdef0",
        replicationServerInstanceType: "t3.small",
        ...state.get(input.sourceServerID),
    }));
    drsMock.on(UpdateReplicationConfigurationCommand).callsFake(async (input: any) => {
        const error = failing.get(input.sourceServerID);
        if (error) throw error;
        state.set(input.sourceServerID, { ebsEncryption: input.ebsEncryption, ebsEncryptionKeyArn: input.ebsEncryptionKeyArn });
        return { sourceServerID: input.sourceServerID, ...state.get(input.sourceServerID) };
    });
    const access: AwsAccess = {
        kms: async () => kms,
        drs: async () => drs,
        iam: async () => {
            throw new Error("align-servers never uses IAM");
        },
    };
    return { access, kmsMock, drsMock, state, failing };
}

function sourceServer(s: FakeServer): SourceServer {
    return {
        sourceServerID: s.id,
        sourceProperties: { identificationHints: { hostname: s.hostname } },
        stagingArea: { status: s.extended ? "EXTENDED" : "NOT_EXTENDED" },
    };
}

/** Runs the command's core with mocked accounts; returns exit code, stdout and stderr. */
async function run(access: AwsAccess, options: Partial<AlignOptions> = {}, keys = [key]) {
    let out = "";
    let err = "";
    const code = await alignServers(
        keys,
        access,
        { apply: false, json: false, ...options },
        { out: (t) => (out += t), err: (t) => (err += t) },
    );
    return { code, out, err };
}

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
];

describe("align-servers", () => {
    it("dry run: prints what it would move, per key, and writes nothing (exit 1)", async () => {
        const { access, drsMock } = stagingAccount();
        const { code, out, err } = await run(access);
        expect(out.split("\n")).to.deep.equal([
            "Dry run: nothing is changed. Run again with --apply to move the servers listed.",
            "",
            `444455556666/us-east-1 key ${keyArn}: 4 servers replicate here, 1 already on the key, 3 to move`,
            `  s-0123456789abcd001 (web-1): DEFAULT (the AWS managed key aws/ebs) -> ${keyArn}; a full sync may be required`,
            `  s-0123456789abcd002 (db-1): CUSTOM ${oldKeyArn} -> ${keyArn}; a full sync may be required`,
            `  s-0123456789abcd004 (files-1): NONE -> ${keyArn}; a full sync may be required`,
            "",
            "3 servers to move. Run again with --apply to move them.",
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

    it("--apply moves each server off the key, prints each result, and leaves servers on the key untouched (exit 0)", async () => {
        const { access, drsMock, state } = stagingAccount();
        const { code, out } = await run(access, { apply: true });
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
        await run(access, { apply: true });
        const sent = updates(drsMock);
        expect(sent).to.have.length(3);
        for (const input of sent) {
            expect(Object.keys(input).sort()).to.deep.equal(["ebsEncryption", "ebsEncryptionKeyArn", "sourceServerID"]);
            expect([input.ebsEncryption, input.ebsEncryptionKeyArn]).to.deep.equal(["CUSTOM", keyArn]);
        }
    });

    it("re-reads each server before it writes, and skips one already on the key", async () => {
        const { access, drsMock, state } = stagingAccount();
        const plan = await planAlignment([key], access);
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
        const first = await run(access, { apply: true });
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
        const again = await run(access, { apply: true });
        expect(again.code).to.equal(0);
        expect(again.out).to.include(": 4 servers replicate here, 3 already on the key, 1 to move\n");
        expect(updatedIds(drsMock)).to.deep.equal(["s-0123456789abcd002"]);
    });

    it("stops at an access error, naming the permission and how many servers were moved before it (exit 2)", async () => {
        const { access, drsMock, failing } = stagingAccount();
        failing.set("s-0123456789abcd002", denied("drs:UpdateReplicationConfiguration"));
        const { code, out, err } = await run(access, { apply: true });
        expect(code).to.equal(2);
        expect(updatedIds(drsMock)).to.deep.equal(["s-0123456789abcd001", "s-0123456789abcd002"]); // files-1 not attempted
        expect(out).to.include("1 moved, 0 skipped (already on the key), 0 failed.");
        expect(err).to.match(
            /^error: stopped: the credentials for 444455556666 lack drs:UpdateReplicationConfiguration \(AccessDeniedException: .*\)\. 1 server was moved before it\. Grant drs:UpdateReplicationConfiguration in 444455556666 and run again: servers already on the key are skipped\.$/m,
        );
    });

    it("names the action it called when the access error does not name the permission", async () => {
        const { access, failing } = stagingAccount();
        failing.set("s-0123456789abcd001", awsError("AccessDeniedException", "Access denied"));
        const plan = await planAlignment([key], access);
        const outcome = await applyAlignment(plan, access, () => undefined);
        expect(outcome.results).to.deep.equal([]);
        expect(outcome.stopped).to.deep.equal({
            accountId: staging,
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
        const { code, out, err } = await run(access, { apply: true, json: true });
        const doc = JSON.parse(out);
        expect(Object.keys(doc)).to.deep.equal(["mode", "plan", "results", "exitCode"]);
        expect([doc.mode, doc.exitCode, code]).to.deep.equal(["apply", 1, 1]);
        expect(doc.plan.keys[0].toMove).to.have.length(3);
        expect(doc.results.map((r: any) => r.status)).to.deep.equal(["moved", "moved", "failed"]);
        expect(err).to.include("  failed  s-0123456789abcd004 (files-1): ValidationException: bad\n");
    });

    it("calls exactly the actions its help names as permissions", async () => {
        const { access, kmsMock, drsMock } = stagingAccount();
        await run(access, { apply: true });
        const actions = (prefix: string, m: typeof kmsMock | typeof drsMock) =>
            m.calls().map((c) => `${prefix}:${(c.args[0] as object).constructor.name.replace(/Command$/, "")}`);
        const called = new Set([...actions("kms", kmsMock), ...actions("drs", drsMock)]);
        expect([...called].sort()).to.deep.equal([...permissions.plan, ...permissions.apply].sort());
        const help = alignServersHelp();
        for (const p of [...permissions.plan, ...permissions.apply]) expect(help).to.include(p);
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
            "never changes the replication\ntemplate",
            "partial failure run it again",
            "always (plan):  drs:DescribeSourceServers, drs:GetReplicationConfiguration, kms:DescribeKey",
            "--apply:        drs:UpdateReplicationConfiguration",
            "Exit codes: 0 nothing to move (or everything moved), 1 servers to move (dry run) or a server failed, 2 could not run",
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
