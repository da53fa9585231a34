// Every relative link in the project's markdown reaches a file that exists and, with an anchor, a
// heading of that file, as GitHub renders it: moving a section breaks a test, not a reader's link.
import { expect } from "chai";
import { execFileSync } from "child_process";
import * as fs from "fs";
import * as path from "path";

const root = path.join(__dirname, "..");

/** The markdown files git tracks or would add (new pages count before their first commit). */
const pages = execFileSync("git", ["ls-files", "--cached", "--others", "--exclude-standard", "*.md"], { cwd: root, encoding: "utf8" })
    .split("\n")
    .filter((file) => file && fs.existsSync(path.join(root, file)));

/** The text outside code blocks: a `# comment` in a shell sample is no heading. */
const outsideCode = (text: string) => text.replace(/^```[\s\S]*?^```/gm, "");
/** ... and outside code spans: a link shown as code is not a link. */
const prose = (text: string) => outsideCode(text).replace(/`[^`\n]*`/g, "");

/** A heading's anchor as GitHub makes it; a repeated heading gets -1, -2. */
function anchorsOf(text: string): Set<string> {
    const seen = new Map<string, number>();
    const anchors = new Set<string>();
    for (const [, heading] of outsideCode(text).matchAll(/^#{1,6} (.+)$/gm)) {
        const base = heading
            .trim()
            .toLowerCase()
            .replace(/[^\p{L}\p{N} _-]/gu, "")
            .replace(/ /g, "-");
        const n = seen.get(base) ?? 0;
        seen.set(base, n + 1);
        anchors.add(n ? `${base}-${n}` : base);
    }
    return anchors;
}

describe("links between the docs", () => {
    it("finds the pages: the README, docs/, the packages' READMEs", () => {
        for (const page of ["README.md", "CONTRIBUTING.md", "docs/configuration.md", "policy/README.md", "components/README.md"]) {
            expect(pages).to.include(page);
        }
    });

    for (const page of pages) {
        it(`${page}: every relative link and anchor resolves`, () => {
            const text = fs.readFileSync(path.join(root, page), "utf8");
            const broken: string[] = [];
            for (const [, target] of prose(text).matchAll(/\]\(([^)\s]+)\)/g)) {
                if (/^[a-z]+:/i.test(target)) continue; // https:, mailto:
                const [file, anchor] = target.split("#");
                const resolved = file ? path.join(root, path.dirname(page), file) : path.join(root, page);
                if (!fs.existsSync(resolved)) {
                    broken.push(`${target}: no such file`);
                    continue;
                }
                if (anchor !== undefined && !anchorsOf(fs.readFileSync(resolved, "utf8")).has(anchor)) {
                    broken.push(`${target}: no heading with that anchor`);
                }
            }
            expect(broken).to.deep.equal([]);
        });
    }
});
