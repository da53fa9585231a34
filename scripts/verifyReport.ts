// The scheduled verify workflow's report (.github/workflows/verify.yml), run after verify whatever
// its exit code: from one stack's exit code and `--json` results, the job summary; the stack's one
// open issue, "verify: <stack>" with the label `verify`, opened, updated or closed with `gh`; and,
// with ALERT_TOPIC_ARN set, an SNS message (`aws sns publish`) when the state changes.
//   node -r sucrase/register/ts scripts/verifyReport.ts --stack staging --exit 1 --results verify-staging.json [--log verify-staging.log]
// Exit code: 0 reported, 1 gh or aws failed (what did not happen is on stderr), 2 wrong arguments.
import { execFileSync } from "child_process";
import { createHash } from "crypto";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { parseArgs } from "util";
import type { CheckResult } from "../ops/verify/types";

/** pass only when verify exited 0 with results that say so; anything unexplained is could-not-run, never a pass. */
export type State = "pass" | "findings" | "unchecked" | "could-not-run";

export const issueLabel = "verify";
/** On the open issue: the body still follows each run, but no comment and no SNS message until it closes. */
export const mutedLabel = "verify-muted";
export const titleOf = (stack: string) => `verify: ${stack}`;
// GitHub refuses an issue body over 65,536 characters: the table stops well short, leaving room for the rest.
const tableBudget = 50_000;

/** verify's --json array, or undefined when the file is missing, empty or not verify's (exit 2 often prints none). */
export function readResults(file: string | undefined): CheckResult[] | undefined {
    if (!file || !fs.existsSync(file)) return undefined;
    try {
        const parsed: unknown = JSON.parse(fs.readFileSync(file, "utf8"));
        const isResult = (r: unknown) =>
            typeof r === "object" &&
            r !== null &&
            typeof (r as CheckResult).check === "string" &&
            typeof (r as CheckResult).status === "string";
        return Array.isArray(parsed) && parsed.every(isResult) ? (parsed as CheckResult[]) : undefined;
    } catch {
        return undefined;
    }
}

/** verify's exit codes (0 ok, 1 findings, 2 could not run, 3 some checks could not run); no code: the step never finished. */
export function stateOf(exit: number | undefined, results: CheckResult[] | undefined): State {
    if (exit === 1) return "findings";
    if (exit === 3) return "unchecked";
    if (exit !== 0) return "could-not-run";
    // 0 from a file that does not say so (unreadable, or a FAIL in it) is not trusted as a pass.
    if (!results) return "could-not-run";
    if (results.some((r) => r.status === "FAIL")) return "findings";
    if (results.some((r) => r.status === "UNCHECKED")) return "unchecked";
    return "pass";
}

export function headlineOf(state: State, exit: number | undefined): string {
    if (state === "pass") return "every check ran and none failed";
    if (state === "findings") return "a check failed";
    if (state === "unchecked") return "nothing failed, but some checks could not run: not a pass";
    if (exit === undefined) return "verify did not finish (no exit code: an earlier step failed, or the step timed out)";
    if (exit === 0) return "verify exited 0 without readable results: not a pass";
    return `verify could not run (exit ${exit})`;
}

export function countsOf(results: CheckResult[]): string {
    const count = (s: string) => results.filter((r) => r.status === s).length;
    return `${count("PASS")} passed, ${count("FAIL")} failed, ${count("WARN")} warnings, ${count("UNCHECKED")} not checked.`;
}

/** One table cell: on one line, its pipes escaped, long messages cut. */
const cell = (text: string | undefined) => {
    const flat = (text ?? "").replace(/\r?\n/g, " ").replace(/\|/g, "\\|").trim();
    return flat.length > 1000 ? `${flat.slice(0, 999)}…` : flat;
};

/** The rows of `statuses`, FAIL first, as a markdown table that fits in `budget` characters. */
export function tableOf(results: CheckResult[], statuses: string[], budget = tableBudget): string {
    const rows = statuses.flatMap((s) => results.filter((r) => r.status === s));
    if (rows.length === 0) return "";
    const lines = ["| Status | Check | Scope | Message | Fix |", "|---|---|---|---|---|"];
    let used = lines.join("\n").length;
    for (const [i, r] of rows.entries()) {
        const line = `| ${r.status} | \`${cell(r.check)}\` | ${cell(r.scope)} | ${cell(r.message)} | ${cell(r.fix)} |`;
        if (used + line.length + 200 > budget) {
            lines.push("", `… and ${rows.length - i} more: see the run's artifact.`);
            break;
        }
        lines.push(line);
        used += line.length + 1;
    }
    return lines.join("\n");
}

/** What identifies a state: when it changes, the issue gets a comment and the topic a message. */
export const keysOf = (results: CheckResult[] = []) =>
    results
        .filter((r) => r.status === "FAIL" || r.status === "UNCHECKED")
        .map((r) => `${r.status} ${r.scope} ${r.check}`)
        .sort();

/**
 * The state a run leaves in the issue's description, for the next run to compare: a digest of every
 * key (a run with 300 failing servers' checks stays small) and the first keys, to name in a comment.
 */
export interface Marker {
    state: State;
    digest: string;
    keys: string[];
}
const digestOf = (keys: string[]) => createHash("sha256").update(keys.join("\n")).digest("hex").slice(0, 16);
export const markerOf = (state: State, keys: string[]) =>
    `<!-- verify-report ${JSON.stringify({ state, digest: digestOf(keys), keys: keys.slice(0, 100) })} -->`;
export function markerIn(body: string): Marker | undefined {
    const m = /<!-- verify-report (\{.*?\}) -->/.exec(body);
    if (!m) return undefined;
    try {
        return JSON.parse(m[1]) as Marker;
    } catch {
        return undefined;
    }
}

export interface Run {
    stack: string;
    exit: number | undefined;
    results: CheckResult[] | undefined;
    /** verify's stderr: the only explanation when it printed no results. */
    log: string;
    runUrl: string;
    now: Date;
}

/** The last lines of the log, when there are no results to explain the state. */
function logTail(run: Run): string[] {
    if (run.results && run.results.length > 0) return [];
    const tail = run.log.trimEnd().split("\n").slice(-20).join("\n").replace(/```/g, "'''");
    return tail
        ? ["verify's stderr (the end):", "", "```text", tail.slice(-4000), "```"]
        : ["verify printed nothing (no results, no log)."];
}

export function summaryOf(run: Run, state: State): string {
    const results = run.results ?? [];
    const exit = run.exit === undefined ? "no exit code" : `exit ${run.exit}`;
    return [
        `### verify: ${run.stack}: ${headlineOf(state, run.exit)} (${exit})`,
        "",
        ...(run.results ? [countsOf(results), ""] : []),
        tableOf(results, ["FAIL", "UNCHECKED", "WARN"]),
        ...logTail(run),
        "",
    ].join("\n");
}

export function issueBodyOf(run: Run, state: State): string {
    const results = run.results ?? [];
    return [
        markerOf(state, keysOf(run.results)),
        `**${headlineOf(state, run.exit)}** (${run.exit === undefined ? "no exit code" : `exit ${run.exit}`}), as of [this run](${run.runUrl}) (${run.now.toISOString()}).`,
        "",
        ...(run.results ? [countsOf(results), ""] : []),
        tableOf(results, ["FAIL", "UNCHECKED"]),
        ...logTail(run),
        "",
        `Every result, each server included: the run's artifact \`verify-${run.stack}\`. Each run of the verify workflow updates this issue, comments when the failing checks change, and closes it when the stack passes. Label it \`${mutedLabel}\` to stop the comments and alerts until then.`,
        "",
    ].join("\n");
}

/** What a comment says changed: the checks that now fail or could not run, and those that no longer do. */
export function changeOf(run: Run, state: State, before: Marker | undefined): string {
    const now = keysOf(run.results);
    const was = before?.keys ?? [];
    const added = now.filter((k) => !was.includes(k));
    const gone = was.filter((k) => !now.includes(k));
    const list = (keys: string[]) =>
        keys
            .slice(0, 20)
            .map((k) => `\`${k}\``)
            .join(", ") + (keys.length > 20 ? ` and ${keys.length - 20} more` : "");
    return [
        `[This run](${run.runUrl}): ${headlineOf(state, run.exit)}.`,
        ...(added.length ? [`Now: ${list(added)}.`] : []),
        ...(gone.length ? [`No longer: ${list(gone)}.`] : []),
        "The description above is the current state.",
    ].join(" ");
}

/** The SNS message: plain text, one block per check that failed or could not run. */
export function messageOf(run: Run, state: State, issueUrl: string | undefined): { subject: string; message: string } {
    const results = run.results ?? [];
    const failing = ["FAIL", "UNCHECKED"].flatMap((s) => results.filter((r) => r.status === s));
    const headline = state === "pass" ? "passes again" : headlineOf(state, run.exit);
    // SNS: a subject of printable ASCII, at most 100 characters.
    const subject = `verify: ${run.stack}: ${headline}`.replace(/[^\x20-\x7e]/g, "?").slice(0, 100);
    const lines = [
        `verify: ${run.stack}: ${headline}${run.exit === undefined ? "" : ` (exit ${run.exit})`}.`,
        ...(run.results ? [countsOf(results)] : []),
        "",
        ...failing.flatMap((r) => [`${r.status}  ${r.scope}  ${r.check}`, `  ${r.message}`, ...(r.fix ? [`  fix: ${r.fix}`] : []), ""]),
        `Run: ${run.runUrl}`,
        ...(issueUrl ? [`Issue: ${issueUrl}`] : []),
    ];
    return { subject, message: lines.join("\n").slice(0, 200_000) };
}

interface Issue {
    number: number;
    title: string;
    body: string;
    url: string;
    labels: { name: string }[];
}

const tool = (command: string, args: string[]) => execFileSync(command, args, { encoding: "utf8", stdio: ["ignore", "pipe", "inherit"] });

/** Does what the state asks of the stack's issue; returns whether it changed and the issue's address. */
function reportIssue(run: Run, state: State, dir: string): { changed: boolean; muted: boolean; url?: string } {
    const file = (name: string, text: string) => {
        const f = path.join(dir, name);
        fs.writeFileSync(f, text);
        return f;
    };
    const title = titleOf(run.stack);
    const listed = JSON.parse(
        tool("gh", ["issue", "list", "--state", "open", "--label", issueLabel, "--limit", "200", "--json", "number,title,body,url,labels"]),
    ) as Issue[];
    // The label narrows the list; the exact title picks the stack's issue (the oldest, should there be two).
    const open = listed.filter((i) => i.title === title).sort((a, b) => a.number - b.number)[0];
    const muted = Boolean(open?.labels.some((l) => l.name === mutedLabel));
    if (state === "pass") {
        if (!open) return { changed: false, muted };
        tool("gh", [
            "issue",
            "close",
            String(open.number),
            "--comment",
            `[This run](${run.runUrl}): every check ran and none failed. Closed.`,
        ]);
        return { changed: true, muted, url: open.url };
    }
    const body = file("body.md", issueBodyOf(run, state));
    if (!open) {
        tool("gh", [
            "label",
            "create",
            issueLabel,
            "--color",
            "B60205",
            "--description",
            "The scheduled verify workflow's findings",
            "--force",
        ]);
        const url = tool("gh", ["issue", "create", "--title", title, "--label", issueLabel, "--body-file", body]).trim();
        return { changed: true, muted, url: url || undefined };
    }
    tool("gh", ["issue", "edit", String(open.number), "--body-file", body]);
    const before = markerIn(open.body ?? "");
    const changed = before?.state !== state || before.digest !== digestOf(keysOf(run.results));
    if (changed && !muted)
        tool("gh", ["issue", "comment", String(open.number), "--body-file", file("comment.md", changeOf(run, state, before))]);
    return { changed, muted, url: open.url };
}

function publish(topicArn: string, run: Run, state: State, issueUrl: string | undefined, dir: string): void {
    if (!/^arn:aws[\w-]*:sns:[\w-]+:\d{12}:[\w-]+$/.test(topicArn)) throw new Error(`ALERT_TOPIC_ARN ${topicArn} is not an SNS topic ARN`);
    const region = topicArn.split(":")[3];
    const { subject, message } = messageOf(run, state, issueUrl);
    const f = path.join(dir, "message.txt");
    fs.writeFileSync(f, message);
    // The topic's own Region, whatever Region the credentials step set.
    tool("aws", ["sns", "publish", "--region", region, "--topic-arn", topicArn, "--subject", subject, "--message", `file://${f}`]);
}

export function main(argv: string[], env: NodeJS.ProcessEnv = process.env): number {
    const { values } = parseArgs({
        args: argv,
        options: { stack: { type: "string" }, exit: { type: "string" }, results: { type: "string" }, log: { type: "string" } },
    });
    if (!values.stack) {
        process.stderr.write("error: --stack is required\n");
        return 2;
    }
    // An empty --exit is a verify step that never wrote its code (skipped, or timed out).
    const exit = values.exit && /^\d+$/.test(values.exit) ? Number(values.exit) : undefined;
    const results = readResults(values.results);
    const log = values.log && fs.existsSync(values.log) ? fs.readFileSync(values.log, "utf8") : "";
    const runUrl = `${env.GITHUB_SERVER_URL ?? "https://github.com"}/${env.GITHUB_REPOSITORY ?? "<repository>"}/actions/runs/${env.GITHUB_RUN_ID ?? "<run>"}`;
    const run: Run = { stack: values.stack, exit, results, log, runUrl, now: new Date() };
    const state = stateOf(exit, results);

    // The summary first: it is written even when gh or aws fail below.
    const summary = summaryOf(run, state);
    if (env.GITHUB_STEP_SUMMARY) fs.appendFileSync(env.GITHUB_STEP_SUMMARY, summary);
    else process.stdout.write(summary);

    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "verify-report-"));
    let failed = false;
    try {
        let issue: { changed: boolean; muted: boolean; url?: string };
        try {
            issue = reportIssue(run, state, dir);
            process.stderr.write(`verify-report: ${run.stack}: ${state}${issue.url ? ` (${issue.url})` : ""}\n`);
        } catch (err) {
            failed = true;
            process.stderr.write(`error: the issue of ${run.stack} could not be updated: ${(err as Error).message}\n`);
            // Without the issue's state a failure is alerted every run rather than not at all.
            issue = { changed: state !== "pass", muted: false };
        }
        const topic = env.ALERT_TOPIC_ARN?.trim();
        if (topic && issue.changed && !issue.muted) {
            try {
                publish(topic, run, state, issue.url, dir);
            } catch (err) {
                failed = true;
                process.stderr.write(`error: could not publish to ${topic}: ${(err as Error).message}\n`);
            }
        }
    } finally {
        fs.rmSync(dir, { recursive: true, force: true });
    }
    return failed ? 1 : 0;
}

if (require.main === module) process.exitCode = main(process.argv.slice(2));
