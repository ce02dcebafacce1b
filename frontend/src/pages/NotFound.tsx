import { EmptyState, LinkButton } from '../components/ui';
import { usePage } from '../lib/page';

export function NotFoundPage() {
  usePage('Page not found');
  return (
    <EmptyState level={1} title="Page not found" action={<LinkButton href="/gateways" variant="primary">Go to gateways</LinkButton>}>
      There is nothing at this address.
    </EmptyState>
  );
}
