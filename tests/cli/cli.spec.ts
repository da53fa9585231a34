import { AssumeRoleCommand, GetCallerIdentityCommand, STSClient } from "@aws-sdk/client-sts";
import { mockClient } from "aws-sdk-client-mock";
import { expect } from "chai";
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { AssumedRoleAccess, AwsAccess } from "../../ops/aws/access";
import { CliDeps, run } from "../../cli";
import { StackWorkspace, WorkspaceStack, pulumiOnPath } from "../../ops/aws/deployedStack";
import { maxYamlNodes, readProjectFile, readStackConfigFiles } from "../../config/files";
import { spawnCli } from "../support/mocks";
import { UnreachableAccount } from "../../ops/aws/faults";

const root = path.join(__dirname, "..", "..");
const staging = "444455556666";
const target = "111122223333";
const keyArn = `arn:aws:kms:us-east-1:${staging}:key/1234abcd-12ab-34cd-56ef-1234567890ab`;
const stagingOutputs = {
    deploy: "staging",
    targetAccountId: target,
    targetAccess: "documented",
    stagingKeys: [
        {
            accountId: staging,
            region: "us-east-1",
            keyId: "1234abcd-12ab-34cd-56ef-1234567890ab",
            keyArn,
            aliasName: "alias/drs-cross-account-ebs",
            stagingRoleArn: `arn:aws:iam::${staging}:role/service-role/DRSStagingAccountRole_${target}`,
        },
    ],
};

/** The CLI in this process: exit code, stdout, stderr. No Pulumi CLI unless a workspace is given. */
async function cli(argv: string[], deps: CliDeps = {}) {
    let out = "";
    let err = "";
    const code = await run(argv, { workspace: null, ...deps, io: { out: (t) => void (out += t), err: (t) => void (err += t) } });
    return { code, out, err };
}

/** The CLI as its own process, as npm runs it: for exit codes and what reaches the terminal. PATH has no Pulumi CLI. */

const tmp = () => fs.mkdtempSync(path.join(os.tmpdir(), "drs-cli-"));

function file(name: string, text: string): string {
    const f = path.join(tmp(), name);
    fs.writeFileSync(f, text);
    return f;
}

/** A project folder: a Pulumi.yaml of this project with the given `config:` block, and stack files. */
function project(config: string, stacks: Record<string, string>): string {
    const dir = tmp();
    fs.writeFileSync(path.join(dir, "Pulumi.yaml"), `name: drs-cross-account-kms\nruntime: nodejs\n${config}`);
    for (const [stack, text] of Object.entries(stacks)) fs.writeFileSync(path.join(dir, `Pulumi.${stack}.yaml`), text);
    return dir;
}

/** Checks a failure: exit 2, nothing on stdout, one line on stderr without a stack trace; returns the line. */
function oneLineError(r: { code: number | null; out: string; err: string } | ReturnType<typeof spawnCli>): string {
    const [code, out, err] = "code" in r ? [r.code, r.out, r.err] : [r.status, r.stdout, r.stderr];
    expect(code, err).to.equal(2);
    expect(out).to.equal("");
    expect(err.split("\n"), err).to.have.length(2); // one line, then the final newline
    expect(err).to.match(/^error: /);
    expect(err).not.to.match(/\n\s+at /);
    return err.trim();
}

describe("command line", () => {
    describe("flags as Pulumi's CLI takes them", () => {
        it("takes -s, --stack=value and --stack value alike; --json prints one JSON document", async () => {
            const short = await cli(["synth", "-s", "staging", "--json"]);
            const equals = await cli(["synth", "--stack=staging"]);
            expect([short.code, equals.code]).to.deep.equal([0, 0]);
            expect(JSON.parse(short.out)).to.deep.equal(JSON.parse(equals.out));
            expect(JSON.parse(short.out).stack).to.equal("staging");
        });

        it("refuses a single-value flag given twice, naming it; --server stays repeatable", async () => {
            const twice = oneLineError(await cli(["synth", "--stack", "a", "--stack", "b"]));
            expect(twice).to.equal(
                "error: option '-s, --stack <name>' argument 'b' is invalid. --stack was given twice (a, then b): give it once.",
            );
            const outputs = file("outputs.json", JSON.stringify(stagingOutputs));
            const access = (): AwsAccess => ({
                kms: async (account) => Promise.reject(new UnreachableAccount(account, "no role")),
                drs: async (account) => Promise.reject(new UnreachableAccount(account, "no role")),
                drsWriter: async (account) => Promise.reject(new UnreachableAccount(account, "no role")),
                ec2: async (account) => Promise.reject(new UnreachableAccount(account, "no role")),
                iam: async (account) => Promise.reject(new UnreachableAccount(account, "no role")),
            });
            const repeated = await cli(["align-servers", "-s", "staging", "--outputs", outputs, "--server", "s-1", "--server", "s-2,s-3"], {
                access,
            });
            expect(repeated.err).to.include("Could not plan: cannot reach account 444455556666: no role.");
        });

        it("suggests the flag meant, on one line", async () => {
            // Also when the misspelt flag is the stack itself: the typo is named, not a missing --stack.
            expect(oneLineError(await cli(["synth", "--stak", "staging"]))).to.equal(
                "error: unknown option '--stak' (did you mean --stack?)",
            );
            expect(oneLineError(await cli(["synth", "-s", "staging", "--stak", "x"]))).to.equal(
                "error: unknown option '--stak' (did you mean --stack?)",
            );
            expect(oneLineError(await cli(["verify", "-s", "staging", "--output", "x"]))).to.equal(
                "error: unknown option '--output' (did you mean --outputs?)",
            );
        });

        it("--json is --format json; --json with --format text or mermaid is refused", async () => {
            expect(oneLineError(await cli(["synth", "-s", "staging", "--json", "--format", "text"]))).to.equal(
                "error: --json and --format text contradict each other: give one.",
            );
            expect(oneLineError(await cli(["synth", "-s", "staging", "--json", "--format", "mermaid"]))).to.equal(
                "error: --json and --format mermaid contradict each other: give one.",
            );
        });

        it("--prices and --servers: read before the plan runs; a bad value is one line; not with --format mermaid", async () => {
            expect(oneLineError(await cli(["synth", "-s", "staging", "--servers", "lots"]))).to.equal(
                "error: --servers lots: give a whole number of servers.",
            );
            expect(oneLineError(await cli(["synth", "-s", "staging", "--format", "mermaid", "--prices", "p.json"]))).to.equal(
                "error: --prices go with --format json or text, not mermaid.",
            );
            expect(oneLineError(await cli(["synth", "-s", "staging", "--prices", file("p.json", "[1]")]))).to.match(
                /^error: --prices .*p\.json: not a JSON object of prices\.$/,
            );
            expect(oneLineError(await cli(["verify", "-s", "staging", "--prices", file("p.json", "{")]))).to.match(
                /^error: --prices .*p\.json: not JSON/,
            );
            const r = await cli(["synth", "-s", "staging", "--servers", "us-east-1=350", "--format", "text"]);
            expect(r.code, r.err).to.equal(0);
            expect(r.out).to.include(
                "--servers 350 in us-east-1: 2 staging accounts and Regions needed, the plan has 1 (300 servers): short by 50.",
            );
        });

        it("--help per command: usage, every flag, an example, the exit codes (exit 0)", async () => {
            for (const [command, flags] of [
                ["synth", ["--stack", "--format", "--json", "--prices", "--servers", "--out", "--policies-dir", "--config-file"]],
                ["access-report", ["--stack", "--json", "--config-file"]],
                ["verify", ["--stack", "--outputs", "--config-file", "--prices", "--json"]],
                ["align-servers", ["--stack", "--outputs", "--server", "--apply", "--json", "--config-file"]],
                [
                    "drill",
                    [
                        "--stack",
                        "--outputs",
                        "--config-file",
                        "--server",
                        "--count",
                        "--start",
                        "--role",
                        "--any-identity",
                        "--timeout",
                        "--keep",
                        "--prices",
                    ],
                ],
            ] as const) {
                const r = await cli([command, "--help"]);
                expect(r.code, command).to.equal(0);
                expect(r.out).to.match(new RegExp(`^Usage: drs-cross-account-kms ${command} -s <stack> \\[options\\]\\n`));
                for (const flag of [...flags, "--help"]) expect(r.out, `${command} ${flag}`).to.include(flag);
                expect(r.out).to.include(`npm run -s ${command} -- -s `);
                expect(r.out).to.match(/Exit codes: 0 [^\n]*, 2 could not run/);
            }
            const top = await cli(["--help"]);
            expect(top.out).to.match(/synth[\s\S]*access-report[\s\S]*verify[\s\S]*align-servers[\s\S]*drill/);
        });

        it("npm run -s verify -- --help: the usage line names npm", () => {
            const run = spawnSync(process.execPath, ["-r", "sucrase/register/ts", path.join(root, "cli/index.ts"), "verify", "--help"], {
                cwd: root,
                encoding: "utf8",
                env: { ...process.env, npm_lifecycle_event: "verify" },
            });
            expect(run.status).to.equal(0);
            expect(run.stdout).to.match(/^Usage: npm run -s verify -- -s <stack> \[options\]\n/);
            expect(run.stdout).to.include("source-server-encryption");
        });

        it("access-report --json: the checks as one JSON array, exit 0 without mismatches", async () => {
            const r = await cli(["access-report", "-s", "target", "--json"]);
            expect(r.code).to.equal(0);
            const checks = JSON.parse(r.out);
            expect(checks).to.have.length(41);
            expect(Object.keys(checks[0])).to.include.members(["key", "who", "action", "via", "expected", "actual"]);
        });

        it("the bin launcher runs the same commands without npm", () => {
            const pkg = JSON.parse(fs.readFileSync(path.join(root, "package.json"), "utf8"));
            const bin = pkg.bin["drs-cross-account-kms"];
            const r = spawnSync(process.execPath, [path.join(root, bin), "synth", "--help"], { cwd: os.tmpdir(), encoding: "utf8" });
            expect(r.status, r.stderr).to.equal(0);
            expect(r.stdout).to.match(/^Usage: drs-cross-account-kms synth/);
            for (const script of ["synth", "access-report", "verify", "align-servers", "drill"])
                expect(pkg.scripts[script]).to.include(script);
        });
    });

    describe("clean failures: one line, exit 2, no stack trace", () => {
        it("a YAML syntax error, with file, line and column", () => {
            const f = file("Pulumi.bad.yaml", "config:\n  drs-cross-account-kms:deploy: [staging,\n");
            expect(oneLineError(spawnCli("synth", "-s", "bad", "--config-file", f))).to.equal(
                `error: ${f}:3:1: unexpected end of the stream within a flow collection.`,
            );
        });

        it("a duplicate key in a stack file", async () => {
            const f = file("Pulumi.dup.yaml", "config:\n  drs-cross-account-kms:deploy: staging\n  drs-cross-account-kms:deploy: target\n");
            expect(oneLineError(await cli(["synth", "-s", "dup", "--config-file", f]))).to.equal(
                `error: ${f}:3:3: duplicated mapping key.`,
            );
        });

        it("a YAML alias bomb (billion laughs), and an alias that contains itself", async () => {
            let bomb = 'config:\n  a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]\n';
            let previous = "a";
            for (const name of "bcdefghi") {
                bomb += `  ${name}: &${name} [${Array(9).fill(`*${previous}`).join(",")}]\n`;
                previous = name;
            }
            const f = file("Pulumi.lol.yaml", bomb);
            const started = Date.now();
            expect(oneLineError(spawnCli("synth", "-s", "lol", "--config-file", f))).to.equal(
                `error: ${f}: its aliases expand to more than ${maxYamlNodes} values (a "billion laughs" document?): not a stack config file.`,
            );
            expect(Date.now() - started).to.be.lessThan(15000);
            const loop = file("Pulumi.loop.yaml", "config:\n  a: &a [*a]\n");
            expect(oneLineError(await cli(["synth", "-s", "loop", "--config-file", loop]))).to.equal(
                `error: ${loop}: an alias refers to the value that contains it: not a stack config file.`,
            );
            const big = file("Pulumi.big.yaml", `config:\n  a: "${"x".repeat(1024 * 1024)}"\n`);
            expect(oneLineError(await cli(["synth", "-s", "big", "--config-file", big]))).to.match(/is too large for a stack config file/);
        });

        it("--out into a missing folder creates it; into a path it cannot create, says so", async () => {
            const dir = tmp();
            const out = path.join(dir, "plans", "nested", "staging.json");
            const r = await cli(["synth", "-s", "staging", "--out", out]);
            // One line on stderr names the file and what is in it.
            expect([r.code, r.out, r.err]).to.deep.equal([
                0,
                "",
                `wrote ${out}: the offline plan of stack staging (27 resources) as JSON, with its monthly cost and quota use\n`,
            ]);
            expect(JSON.parse(fs.readFileSync(out, "utf8")).stack).to.equal("staging");
            const map = path.join(dir, "map.mmd");
            expect((await cli(["synth", "-s", "target", "--format", "mermaid", "--out", map])).err).to.equal(
                `wrote ${map}: the access map of stack target, a Mermaid flowchart\n`,
            );
            const blocker = path.join(dir, "a-file");
            fs.writeFileSync(blocker, "");
            expect(oneLineError(await cli(["synth", "-s", "staging", "--out", path.join(blocker, "x.json")]))).to.match(
                new RegExp(`^error: --out ${path.join(blocker, "x.json")}: cannot write \\((ENOTDIR|EEXIST)\\)\\.$`),
            );
        });

        it("an outputs file holding null, an array, or not JSON, or missing", async () => {
            const pass = "pass the output of `pulumi stack output --json`, as a file or - for stdin.";
            for (const [text, why] of [
                ["null", "is null, not a JSON object of stack outputs"],
                ["[1, 2]", "is an array, not a JSON object of stack outputs"],
                ['"text"', "is a string, not a JSON object of stack outputs"],
            ]) {
                const f = file("outputs.json", text);
                expect(oneLineError(await cli(["verify", "-s", "staging", "--outputs", f, "--json"]))).to.equal(
                    `error: --outputs ${f}: ${why}: ${pass}`,
                );
            }
            const notJson = file("outputs.json", "Current stack outputs (3):");
            expect(oneLineError(await cli(["verify", "-s", "staging", "--outputs", notJson]))).to.match(
                new RegExp(`^error: --outputs ${notJson}: is not JSON \\(Unexpected token`),
            );
            const missing = path.join(tmp(), "none.json");
            expect(oneLineError(spawnCli("align-servers", "-s", "staging", "--outputs", missing))).to.equal(
                `error: --outputs ${missing}: cannot be read (ENOENT): ${pass}`,
            );
        });

        it("a missing stack file", async () => {
            expect(oneLineError(spawnCli("synth", "-s", "nope"))).to.equal(
                `error: ${path.join(root, "Pulumi.nope.yaml")}: no such stack config file: create it (pulumi stack init nope), or name another with --config-file.`,
            );
            const f = path.join(tmp(), "Pulumi.gone.yaml");
            expect(oneLineError(await cli(["access-report", "-s", "gone", "--config-file", f]))).to.match(/no such stack config file/);
        });

        it("an unknown command", () => {
            expect(oneLineError(spawnCli("veify", "-s", "staging"))).to.equal("error: unknown command 'veify' (did you mean verify?)");
            expect(oneLineError(spawnCli("plan"))).to.equal("error: unknown command 'plan'");
        });

        it("an unknown command, whatever flags follow it (commander printed the general help, exit 0)", async () => {
            for (const argv of [
                ["veify", "--help"],
                ["veify", "-h"],
                ["--help", "veify"],
                ["help", "veify"],
                ["VERIFY", "-s", "staging"],
            ])
                expect(oneLineError(await cli(argv)), argv.join(" ")).to.equal(
                    "error: unknown command '" + argv.find((a) => /^v/i.test(a)) + "' (did you mean verify?)",
                );
            expect(oneLineError(spawnCli("nosuch", "--help"))).to.equal("error: unknown command 'nosuch'");
            // A known command's help, and the general help, stay as they were.
            for (const argv of [["verify", "--help"], ["help", "verify"], ["--help"], ["help"]])
                expect((await cli(argv)).code, argv.join(" ")).to.equal(0);
        });

        it("a mistyped npm script: npm run -s says nothing (exit 1), so the docs name the bin form, which says what was meant", () => {
            const env = { ...process.env, npm_config_loglevel: undefined };
            const npm = (...args: string[]) => spawnSync("npm", args, { cwd: root, encoding: "utf8", env });
            // What npm does, which the docs describe: its "Missing script" error is silenced by -s.
            const silent = npm("run", "-s", "veify", "--", "-s", "staging");
            expect([silent.status, silent.stdout, silent.stderr]).to.deep.equal([1, "", ""]);
            expect(oneLineError(npm("exec", "--offline", "--", "drs-cross-account-kms", "veify", "-s", "staging"))).to.equal(
                "error: unknown command 'veify' (did you mean verify?)",
            );
            for (const page of ["README.md", "docs/cli.md"])
                expect(fs.readFileSync(path.join(root, page), "utf8").replace(/\s+/g, " "), page).to.include(
                    "npx drs-cross-account-kms veify -s staging",
                );
        });

        it("a bad flag value, and a missing --stack", () => {
            expect(oneLineError(spawnCli("synth", "-s", "staging", "--format", "xml"))).to.equal(
                "error: option '--format <format>' argument 'xml' is invalid. Allowed choices are json, text, mermaid.",
            );
            expect(oneLineError(spawnCli("access-report"))).to.equal("error: required option '-s, --stack <name>' not specified");
        });

        it("verify without --outputs and without the Pulumi CLI names what to pass", async () => {
            expect(oneLineError(await cli(["verify", "-s", "staging"]))).to.equal(
                "error: --outputs is required: the Pulumi CLI is not on PATH, so verify cannot read the stack's outputs itself. Pass `pulumi stack output --json --stack staging` as a file, or - for stdin.",
            );
        });
    });

    describe("config read as Pulumi reads it", () => {
        const stagingStack = (extra = "") =>
            `config:\n  drs-cross-account-kms:deploy: staging\n  drs-cross-account-kms:stagingAccounts:\n    - accountId: "${staging}"\n      region: us-east-1\n${extra}`;

        it("project config under the stack's: plain values, declared defaults, keys without a namespace are the project's; the stack wins", () => {
            const dir = project(
                [
                    "config:",
                    "  aws:region: eu-west-1",
                    "  deploy: all",
                    "  target:",
                    "    value:",
                    '      accountId: "999999999999"',
                    "  drs-cross-account-kms:alerts:",
                    "    type: object",
                    "    default:",
                    "      enabled: false",
                    "",
                ].join("\n"),
                { s: `${stagingStack()}  drs-cross-account-kms:target:\n    accountId: "${target}"\n` },
            );
            const { config, secretKeys, warnings } = readStackConfigFiles(readProjectFile(dir), "s");
            expect(config).to.deep.equal({
                "aws:region": "eu-west-1",
                "drs-cross-account-kms:deploy": "staging",
                "drs-cross-account-kms:target": { accountId: target }, // replaced whole, not merged
                "drs-cross-account-kms:alerts": { enabled: false },
                "drs-cross-account-kms:stagingAccounts": [{ accountId: staging, region: "us-east-1" }],
            });
            expect([secretKeys, warnings]).to.deep.equal([[], []]);
        });

        it("a declared key without a default must be set by the stack, as pulumi up requires", async () => {
            const dir = project("config:\n  tags:\n    type: object\n", { s: stagingStack() });
            expect(oneLineError(await cli(["synth", "-s", "s"], { projectDir: dir }))).to.equal(
                `error: ${path.join(dir, "Pulumi.s.yaml")}: stack s is missing configuration value drs-cross-account-kms:tags (declared in ${path.join(dir, "Pulumi.yaml")} without a default).`,
            );
        });

        it("secure values: planned with the placeholder, named on stderr and in the JSON, never printed", async () => {
            const ciphertext = "v1:AAAABBBBCCCCsecretciphertext==";
            const dir = project("", {
                s: stagingStack(
                    `      roleArn:\n        secure: ${ciphertext}\n  drs-cross-account-kms:target:\n    accountId: "${target}"\n`,
                ),
            });
            const r = await cli(["synth", "-s", "s", "--json"], { projectDir: dir });
            expect(r.code, r.err).to.equal(0);
            const plan = JSON.parse(r.out);
            expect(plan.secretConfigKeys).to.deep.equal(["drs-cross-account-kms:stagingAccounts[0].roleArn"]);
            expect(r.err).to.include(
                'warning: drs-cross-account-kms:stagingAccounts[0].roleArn is a secret: read as "[secret]" (the files hold them encrypted), so the checks do not judge it.',
            );
            expect(r.out + r.err).not.to.include(ciphertext);
            const text = await cli(["synth", "-s", "s", "--format", "text"], { projectDir: dir });
            expect(text.out).to.include(
                'secrets (planned with "[secret]" in their place): drs-cross-account-kms:stagingAccounts[0].roleArn',
            );
            expect(text.out + text.err).not.to.include(ciphertext);
        });

        it("finds the Pulumi CLI on PATH", () => {
            const dir = tmp();
            expect(pulumiOnPath({ PATH: dir })).to.equal(false);
            fs.writeFileSync(path.join(dir, "pulumi"), "#!/bin/sh\n", { mode: 0o755 });
            expect(pulumiOnPath({ PATH: [tmp(), dir].join(path.delimiter) })).to.equal(true);
        });
    });

    describe("verify and align-servers read the stack through the Pulumi CLI when it is installed", () => {
        const secretRole = `arn:aws:iam::${staging}:role/TopSecretDeployRole`;
        /** A stack whose config names a staging role as a secret; records what was asked. */
        function workspace(asked: string[]): StackWorkspace {
            const stack: WorkspaceStack = {
                async getAllConfig() {
                    asked.push("config");
                    return {
                        "drs-cross-account-kms:deploy": { value: "staging" },
                        "drs-cross-account-kms:target": { value: JSON.stringify({ accountId: target, regions: ["us-east-1"] }) },
                        "drs-cross-account-kms:stagingAccounts": {
                            value: JSON.stringify([{ accountId: staging, region: "us-east-1", roleArn: secretRole }]),
                            secret: true,
                        },
                    };
                },
                async outputs() {
                    asked.push("outputs");
                    return Object.fromEntries(Object.entries(stagingOutputs).map(([k, value]) => [k, { value, secret: false }]));
                },
            };
            return {
                async selectStack(name, dir) {
                    asked.push(`select ${name} in ${dir}`);
                    return stack;
                },
            };
        }

        it("verify -s staging: outputs and decrypted config from the stack; a secret never printed", async () => {
            const asked: string[] = [];
            const sts = new STSClient({ region: "us-east-1" });
            const stsMock = mockClient(sts);
            stsMock.on(GetCallerIdentityCommand).resolves({ Account: target });
            stsMock.on(AssumeRoleCommand).rejects(
                Object.assign(new Error(`User is not authorized to perform: sts:AssumeRole on resource: ${secretRole}`), {
                    name: "AccessDenied",
                }),
            );
            // The stack file says which value inside stagingAccounts is the secret: the roleArn.
            const dir = project("", {
                staging: `config:\n  drs-cross-account-kms:stagingAccounts:\n    - accountId: "${staging}"\n      region: us-east-1\n      roleArn:\n        secure: v1:c2VjcmV0\n`,
            });
            const r = await cli(["verify", "-s", "staging", "--json"], {
                projectDir: dir,
                workspace: workspace(asked),
                access: (roleArns, command) => new AssumedRoleAccess(roleArns, command, sts),
                progressDelayMs: 0,
            });
            expect(asked).to.deep.equal([`select staging in ${dir}`, "outputs", "config"]);
            // The role was assumed with the decrypted ARN, and every message about it hides it.
            expect(stsMock.commandCalls(AssumeRoleCommand).map((c) => c.args[0].input.RoleArn)).to.deep.equal([secretRole]);
            expect(r.out + r.err).not.to.include("TopSecretDeployRole");
            const results = JSON.parse(r.out);
            expect(results.find((x: { check: string }) => x.check === "key-state").message).to.equal(
                `Not checked: cannot reach account ${staging}: assuming [secret] failed (AccessDenied: User is not authorized to perform: sts:AssumeRole on resource: [secret]).`,
            );
            expect(r.err).to.include(`Checking key 1 of 1: staging account ${staging} in us-east-1`);
            expect(r.code).to.equal(2); // the target checks ran with the current credentials; no staging check could
        });

        it("--outputs still wins over the stack's own outputs; the config then comes from the files", async () => {
            const asked: string[] = [];
            const outputs = file("outputs.json", JSON.stringify({ targetAccountId: target }));
            const r = await cli(["align-servers", "-s", "staging", "--outputs", outputs], { workspace: workspace(asked) });
            expect(asked).to.deep.equal([]);
            expect(oneLineError(r)).to.equal(
                "error: The stack outputs have no stagingKeys: pass the output of `pulumi stack output --json` of a deployed stack.",
            );
        });

        it("a failure of the Pulumi CLI is one line", async () => {
            const failing: StackWorkspace = {
                async selectStack() {
                    throw new Error("code: 255\n stdout: \n stderr: error: no stack named 'nope' found\n");
                },
            };
            expect(oneLineError(await cli(["verify", "-s", "nope"], { workspace: failing }))).to.equal(
                "error: The Pulumi CLI could not select stack nope: no stack named 'nope' found (log in with pulumi login, or pass --outputs).",
            );
        });
    });
});
