// ESLint rule: no import circle between the project's modules, type imports included (a type
// import ties two modules' designs together as much as a value import does). import-x/no-cycle
// skips type-only imports by design, hence this rule. Edges come from TypeScript's own scan of each
// file (static and dynamic imports, require, `import("...")` types); relative specifiers only.
import * as fs from "node:fs";
import * as path from "node:path";
import ts from "typescript";

/** Each file's resolved relative imports, read once per lint run. */
const edges = new Map();

function resolve(from, spec) {
    if (!spec.startsWith(".")) return undefined;
    const base = path.resolve(path.dirname(from), spec);
    return [base, `${base}.ts`, path.join(base, "index.ts")].find(
        (c) => c.endsWith(".ts") && fs.statSync(c, { throwIfNoEntry: false })?.isFile(),
    );
}

function importsOf(file) {
    if (!edges.has(file)) {
        const scanned = ts.preProcessFile(fs.readFileSync(file, "utf8"), true, true).importedFiles;
        edges.set(file, [...new Set(scanned.map((f) => resolve(file, f.fileName)).filter(Boolean))]);
    }
    return edges.get(file);
}

/** The shortest chain of imports from `start` back to `goal`, if there is one. */
function pathBack(start, goal) {
    const cameFrom = new Map([[start, undefined]]);
    const queue = [start];
    while (queue.length > 0) {
        const file = queue.shift();
        for (const next of importsOf(file)) {
            if (next === goal) {
                const chain = [file];
                for (let at = cameFrom.get(file); at !== undefined; at = cameFrom.get(at)) chain.unshift(at);
                return chain;
            }
            if (!cameFrom.has(next)) {
                cameFrom.set(next, file);
                queue.push(next);
            }
        }
    }
    return undefined;
}

export default {
    meta: {
        type: "problem",
        docs: { description: "no import circle between the project's modules, type imports included" },
        schema: [],
        messages: { cycle: "Import cycle: {{chain}}. Move what both need into a module below them." },
    },
    create(context) {
        const file = context.physicalFilename;
        const root = context.cwd;
        const check = (node, spec) => {
            if (typeof spec !== "string") return;
            const target = resolve(file, spec);
            if (!target || target === file) return;
            const chain = pathBack(target, file);
            if (chain)
                context.report({
                    node,
                    messageId: "cycle",
                    data: { chain: [file, ...chain, file].map((f) => path.relative(root, f)).join(" -> ") },
                });
        };
        const sourceOf = (node) => check(node, node.source?.value);
        return {
            ImportDeclaration: sourceOf,
            ExportAllDeclaration: sourceOf,
            ExportNamedDeclaration: sourceOf,
            ImportExpression: sourceOf,
            TSImportType: (node) => check(node, node.argument?.literal?.value),
            CallExpression: (node) => {
                if (node.callee.type === "Identifier" && node.callee.name === "require") check(node, node.arguments[0]?.value);
            },
        };
    },
};
