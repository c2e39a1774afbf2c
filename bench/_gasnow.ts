import { measureGas } from './gas.js';
console.log(JSON.stringify(await measureGas()));
