import { createRoot } from 'react-dom/client';
import { App } from './App.js';
import { loadConfig } from './lib/session.js';
import './style.css';

const root = createRoot(document.getElementById('root')!);
loadConfig().then(
  (config) => root.render(<App config={config} />),
  (err: Error) => root.render(<p className="error">Cannot reach the MedLedger manager: {err.message}</p>),
);
