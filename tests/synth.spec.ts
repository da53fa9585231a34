import { expect } from "chai";
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { SynthError, SynthResult, synthesize } from "../tools/synth";

const root = path.join(__dirname, "..");
const stagingRef = "organization/drs-cross-account-kms/staging";

function cli(...args: string[]) {
    return spawnSync(process.execPath, ["-r", "sucrase/register/ts", path.join(root, "tools/cli.ts"), ...args], {
        cwd: root,
        encoding: "utf8",
    });
}

/** A project folder with the repository's Pulumi.yaml and the given stack files. */
function project(stacks: Record<string, string>): string {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "drs-synth-"));
    fs.copyFileSync(path.join(root, "Pulumi.yaml"), path.join(dir, "Pulumi.yaml"));
    for (const [stack, text] of Object.entries(stacks)) fs.writeFileSync(path.join(dir, `Pulumi.${stack}.yaml`), text);
    return dir;
}

async function synthError(stack: string, projectDir: string): Promise<string> {
    try {
        await synthesize(stack, { projectDir });
    } catch (err) {
        expect(err).to.be.instanceOf(SynthError);
        return (err as Error).message;
    }
    throw new Error("expected a SynthError");
}

describe("offline plan (synth)", () => {
    let target: SynthResult;

    before(async () => {
        target = await synthesize("target");
    });

    it("returns project, stack, resources and outputs", () => {
        expect(Object.keys(target.plan)).to.deep.equal(["project", "stack", "resources", "outputs"]);
        expect(target.plan.project).to.equal("drs-cross-account-kms");
        expect(target.plan.stack).to.equal("target");
        for (const r of target.plan.resources) {
            expect(r.urn.startsWith("urn:pulumi:target::drs-cross-account-kms::"), r.urn).to.equal(true);
            expect(r).to.include.keys("urn", "type", "name", "inputs", "state");
        }
        expect(target.plan.resources.map((r) => r.type).sort()).to.deep.equal([
            "aws:iam/policy:Policy",
            "aws:iam/rolePolicyAttachment:RolePolicyAttachment",
            "drs-cross-account-kms:index:DrsTargetKeyAccess",
            "pulumi:providers:aws",
            "pulumi:pulumi:StackReference",
        ]);
    });

    it("names each resource's provider by URN, and shows provider inputs as the program passed them", () => {
        const providers = target.plan.resources.filter((r) => r.type === "pulumi:providers:aws");
        expect(providers.map((p) => p.inputs.allowedAccountIds)).to.deep.equal([["111122223333"]]);
        const policy = target.plan.resources.find((r) => r.type === "aws:iam/policy:Policy")!;
        expect(policy.provider).to.equal(providers[0].urn);
    });

    it("answers with realistic ARNs derived from each resource's account and Region", () => {
        const staging = target.references[stagingRef].plan;
        const key = staging.resources.find((r) => r.type === "aws:kms/key:Key")!;
        expect(key.state.arn).to.match(
            /^arn:aws:kms:us-east-1:444455556666:key\/[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/,
        );
        const role = staging.resources.find((r) => r.type === "aws:iam/role:Role")!;
        expect(role.state.arn).to.equal("arn:aws:iam::444455556666:role/service-role/DRSStagingAccountRole_111122223333");
        expect(role.state.uniqueId).to.match(/^AROA[0-9A-F]{17}$/);
        const template = staging.resources.find((r) => r.type.startsWith("aws:drs/"))!;
        expect(template.state.arn).to.match(/^arn:aws:drs:us-east-1:444455556666:replication-configuration-template\/rct-[0-9a-f]{17}$/);
        const policy = target.plan.resources.find((r) => r.type === "aws:iam/policy:Policy")!;
        expect(policy.state.arn).to.equal("arn:aws:iam::111122223333:policy/DrsCrossAccountKmsKeyUse");
    });

    it("feeds a StackReference from the referenced stack's own plan", () => {
        expect(Object.keys(target.references)).to.deep.equal([stagingRef]);
        const staging = target.references[stagingRef].plan;
        const keyArn = staging.resources.find((r) => r.type === "aws:kms/key:Key")!.state.arn;
        const policy = target.plan.resources.find((r) => r.type === "aws:iam/policy:Policy")!;
        expect(JSON.parse(policy.inputs.policy as string).Statement[0].Resource).to.deep.equal([keyArn]);
        expect(target.plan.outputs.targetKeyUsePolicyArns).to.deep.equal(["arn:aws:iam::111122223333:policy/DrsCrossAccountKmsKeyUse"]);
        expect((staging.outputs.stagingKeys as { keyArn: string }[])[0].keyArn).to.equal(keyArn);
    });

    it("is deterministic", async () => {
        const again = await synthesize("target");
        expect(JSON.stringify(again.plan)).to.equal(JSON.stringify(target.plan));
    });

    it("says clearly when a referenced stack has no stack file, or references form a cycle", async () => {
        const targetYaml = (ref: string) =>
            `config:\n  drs-cross-account-kms:deploy: target\n  drs-cross-account-kms:target:\n    accountId: "111122223333"\n  drs-cross-account-kms:stagingStacks: [${ref}]\n`;
        expect(await synthError("t", project({ t: targetYaml("organization/drs-cross-account-kms/nope") }))).to.equal(
            "Stack t references organization/drs-cross-account-kms/nope, but the project has no Pulumi.nope.yaml to plan it from. Add that stack file, or correct drs-cross-account-kms:stagingStacks.",
        );
        expect(await synthError("t", project({ t: targetYaml("organization/drs-cross-account-kms/t") }))).to.match(
            /references it back: t -> t/,
        );
    });

    it("turns invalid config into a message naming every problem", async () => {
        const message = await synthError("bad", project({ bad: 'config:\n  drs-cross-account-kms:target:\n    accountId: "1"\n' }));
        expect(message).to.match(/^Stack bad: Invalid stack config \(2 problems\):\n  - drs-cross-account-kms:target.accountId "1"/);
    });
});

describe("synth and access-report commands", () => {
    it("prints the plan as JSON on stdout", async () => {
        const run = cli("synth", "--stack", "target");
        expect(run.status).to.equal(0);
        expect(JSON.parse(run.stdout)).to.deep.equal((await synthesize("target")).plan);
    });

    it("exits non-zero on invalid config, with the errors on stderr and nothing on stdout", () => {
        const dir = project({});
        const file = path.join(dir, "bad.yaml");
        fs.writeFileSync(file, "config:\n  drs-cross-account-kms:deploy: everything\n");
        const run = cli("synth", "--stack", "bad", "--config-file", file);
        expect(run.status).to.equal(2);
        expect(run.stdout).to.equal("");
        expect(run.stderr).to.match(
            /^error: Stack bad: Invalid stack config \(3 problems\):\n  - drs-cross-account-kms:deploy must be one of all, staging, target/,
        );
    });

    it("prints a summary in words and the access report with --format text, and policy files with --policies-dir", () => {
        const dir = fs.mkdtempSync(path.join(os.tmpdir(), "drs-policies-"));
        const run = cli("synth", "--stack", "target", "--format", "text", "--policies-dir", dir);
        expect(run.status).to.equal(0);
        expect(run.stdout).to.include("Account 111122223333, global (IAM)");
        expect(run.stdout).to.include(
            "AllowTargetAccountReEncryptThroughEc2: account 111122223333 (its IAM principals that have permission) may kms:ReEncrypt*, only as account 111122223333, only through ec2.us-east-1.amazonaws.com.",
        );
        expect(run.stdout).to.match(/Access report: \d+ checks, 0 mismatches\./);
        expect(fs.readdirSync(dir).sort()).to.deep.equal([
            "drs-444455556666-us-east-1-alerts-topic-key.json",
            "drs-444455556666-us-east-1-alerts-topic-policy.json",
            "drs-444455556666-us-east-1-key-key.json",
            "drs-staging-role-444455556666-role.json",
            "drs-target-111122223333-policy.json",
        ]);
    });

    it("verify says, without a stack trace, when it cannot read the stack outputs (exit 2)", () => {
        const run = cli("verify", "--stack", "staging", "--outputs", path.join(os.tmpdir(), "no-such-outputs.json"));
        expect(run.status).to.equal(2);
        expect(run.stdout).to.equal("");
        expect(run.stderr).to.match(
            /^error: --outputs cannot be read \(ENOENT[^\n]*\): pass the output of `pulumi stack output --json`, as a file or - for stdin\.\n$/m,
        );
        expect(run.stderr).not.to.match(/\n\s+at /);
    });

    it("verify --help lists every check, the states treated as healthy and the permissions it needs", () => {
        const run = cli("verify", "--help");
        expect(run.status).to.equal(0);
        for (const text of [
            "source-server-encryption",
            "extended-server-replication",
            "drs-service-linked-role",
            "CONTINUOUS, INITIAL_SYNC, RESCAN",
        ]) {
            expect(run.stdout).to.include(text);
        }
        expect(run.stdout).to.match(/^usage: npm run -s verify -- --stack <name> --outputs <file\|-> \[--config-file <path>\] \[--json\]/);
    });

    it("verify refuses outputs that are not an object, without a stack trace (exit 2)", () => {
        const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), "drs-outputs-")), "outputs.json");
        fs.writeFileSync(file, "null");
        const run = cli("verify", "--stack", "staging", "--outputs", file, "--json");
        expect([run.status, run.stdout]).to.deep.equal([2, ""]);
        expect(run.stderr).to.equal("error: --outputs is not a JSON object: pass the output of `pulumi stack output --json`.\n");
    });

    it("access-report exits 0 on the shipped stacks", () => {
        const run = cli("access-report", "--stack", "target");
        expect(run.status).to.equal(0);
        expect(run.stdout).to.match(/Access report: 32 checks, 0 mismatches\.\n$/);
    });
});
