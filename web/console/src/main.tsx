// The operators' console (docs/console.md): signed in with a passkey by <StaffApp>, then the console's
// pages for the operator's role.
import { createRoot } from 'react-dom/client';
import { StaffApp } from '../../staff/staff-app.tsx';
import { Console } from './app.tsx';
import './styles.css';
import '../../staff/app-last.css';

createRoot(document.getElementById('root')!).render(
  <StaffApp app="console" title="Micropay console">
    {(me) => <Console me={me} />}
  </StaffApp>,
);
