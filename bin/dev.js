#!/usr/bin/env node
// Runs psb from the TypeScript sources, no build needed: ./bin/dev.js <command> [flags]
import {register} from 'tsx/esm/api'

register()
const {execute} = await import('@oclif/core')
await execute({development: true, dir: import.meta.url})
