// Fake `gh`, `aws` and `npm` on PATH for the verify workflow's tests: each records its arguments
// (and the file it was given as a body or message) and answers what the report script reads.
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";

export interface Call {
    tool: string;
    args: string[];
    /** The --body-file's text, or the text of the file:// --message. */
    file?: string;
}

export interface Issue {
    number: number;
    title: string;
    body: string;
    url: string;
    labels: { name: string }[];
}

// One script for every tool: what it is called as says what it does.
const fake = (node: string) => `#!${node}
const fs = require("fs");
const path = require("path");
const tool = path.basename(process.argv[1]);
const args = process.argv.slice(2);
const at = (flag) => (args.includes(flag) ? args[args.indexOf(flag) + 1] : undefined);
const body = at("--body-file");
const message = at("--message");
const file = body ? fs.readFileSync(body, "utf8") : message && message.startsWith("file://") ? fs.readFileSync(message.slice(7), "utf8") : undefined;
fs.appendFileSync(process.env.FAKE_LOG, JSON.stringify({ tool, args, file }) + "\\n");
if (process.env.FAKE_FAIL === tool) {
    process.stderr.write(tool + ": fake failure\\n");
    process.exit(1);
}
if (tool === "gh" && args[0] === "issue" && args[1] === "list") process.stdout.write(process.env.FAKE_ISSUES || "[]");
if (tool === "gh" && args[0] === "issue" && args[1] === "create") process.stdout.write("https://github.com/acme/dr/issues/7\\n");
if (tool === "npm") {
    process.stdout.write(process.env.FAKE_STDOUT || "");
    process.stderr.write("verify: progress\\n");
    process.exit(Number(process.env.FAKE_EXIT || 0));
}
`;

export interface Fakes {
    /** A folder to run in: `scripts` and `node_modules` of the repository linked into it. */
    dir: string;
    /** Runs `script` with bash as GitHub runs a step's `run` (-e, pipefail), the fakes first on PATH. */
    bash(script: string, env?: Record<string, string>): Ran;
}

export interface Ran {
    status: number | null;
    stdout: string;
    stderr: string;
    calls: Call[];
    /** What the script added to $GITHUB_STEP_SUMMARY and $GITHUB_OUTPUT. */
    summary: string;
    output: string;
}

export function fakes(root: string): Fakes {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "verify-workflow-"));
    const bin = path.join(dir, ".bin");
    fs.mkdirSync(bin);
    for (const tool of ["gh", "aws", "npm"]) fs.writeFileSync(path.join(bin, tool), fake(process.execPath), { mode: 0o755 });
    for (const link of ["scripts", "node_modules"]) fs.symlinkSync(path.join(root, link), path.join(dir, link));
    const log = path.join(dir, ".calls.jsonl");
    // Never the real ones, should the tests run in GitHub Actions.
    const summary = path.join(dir, ".summary.md");
    const output = path.join(dir, ".output");
    return {
        dir,
        bash(script, env = {}) {
            for (const file of [log, summary, output]) fs.writeFileSync(file, "");
            const result = spawnSync("bash", ["--noprofile", "--norc", "-eo", "pipefail", "-c", script], {
                cwd: dir,
                encoding: "utf8",
                env: {
                    ...process.env,
                    GITHUB_SERVER_URL: "https://github.com",
                    GITHUB_REPOSITORY: "acme/dr",
                    GITHUB_RUN_ID: "42",
                    ALERT_TOPIC_ARN: "",
                    GITHUB_STEP_SUMMARY: summary,
                    GITHUB_OUTPUT: output,
                    ...env,
                    PATH: `${bin}${path.delimiter}${process.env.PATH}`,
                    FAKE_LOG: log,
                },
            });
            const calls = fs
                .readFileSync(log, "utf8")
                .split("\n")
                .filter(Boolean)
                .map((line) => JSON.parse(line) as Call);
            const read = (file: string) => fs.readFileSync(file, "utf8");
            return {
                status: result.status,
                stdout: result.stdout,
                stderr: result.stderr,
                calls,
                summary: read(summary),
                output: read(output),
            };
        },
    };
}

/** verify's --json of the golden run (every check passed), to make the other outcomes from. */
export function goldenResults(root: string): { check: string; scope: string; status: string; message: string; fix?: string }[] {
    const text = fs.readFileSync(path.join(root, "tests/golden/verify.json.txt"), "utf8");
    return JSON.parse(text.slice(text.indexOf("--- stdout\n") + 11, text.indexOf("--- stderr")));
}
