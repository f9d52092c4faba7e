#!/usr/bin/env -S node --import tsx
// Runs psb from the TypeScript sources (no build needed): `./bin/dev.js <command>`.
const {execute} = await import('@oclif/core')
await execute({development: true, dir: import.meta.url})
