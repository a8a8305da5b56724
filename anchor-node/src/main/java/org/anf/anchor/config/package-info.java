@NullMarked
package org.anf.anchor.config;

import org.jspecify.annotations.NullMarked;
