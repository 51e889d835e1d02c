// The replica's JSON wire forms between peers and with clients.
export * from './peer-wire';
