/** The resolver's gRPC service. */
@NullMarked
package org.anf.resolver.service;

import org.jspecify.annotations.NullMarked;
