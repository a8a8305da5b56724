/** Test fixtures for dns-fallback: a NameResolver over MemoryFabric, real dnsmasq and dig. */
@NullMarked
package org.anf.dns.testing;

import org.jspecify.annotations.NullMarked;
