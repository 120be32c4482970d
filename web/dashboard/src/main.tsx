// The merchants' dashboard (docs/dashboard.md): signed in with a passkey by <StaffApp>, then the
// dashboard's pages for the user's role.
import { createRoot } from 'react-dom/client';
import { StaffApp } from '../../staff/staff-app.tsx';
import { Dashboard } from './app.tsx';
import './styles.css';
import '../../staff/app-last.css';

createRoot(document.getElementById('root')!).render(
  <StaffApp app="dashboard" title="Micropay dashboard">
    {(me) => <Dashboard key={me.livemode ? 'live' : 'test'} me={me} />}
  </StaffApp>,
);
