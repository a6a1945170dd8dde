export interface AddressBookEntriesTable {
  id: string;
  account_id: string;
  network: string;
  address: string;
  address_type: string;
  label: string;
  cooling_ms: string | number;
  created_at: string;
  removed_at: string | null;
}

export interface AddressBookSchema {
  address_book_entries: AddressBookEntriesTable;
}
