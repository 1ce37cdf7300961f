/* i18n.h - translations of what synctop and synctop-demo say (gettext).
 *
 * _("text") is the text in the user's language (LANG/LC_ALL/LC_MESSAGES;
 * LANG=C: the English original); N_("text") only marks a literal for
 * xgettext where a translation cannot be called (a static table), and the
 * code translates it with _() where it is shown. The catalogues are in
 * po/ (po/zh_CN.po). The library's own messages (st_strerror) and the
 * machine-read output (--json, batch keys) stay English.
 *
 * i18n_init() once at the start of main(): the locale from the
 * environment (numbers keep the C locale's '.', so --json and batch
 * output do not change with it) and the catalogue: LOCALEDIR (where
 * `make install` puts it), or $SYNCTOP_LOCALEDIR when set (the build
 * tree's po/locale, for running uninstalled; the tests set it).
 */
#ifndef SYNCTOP_TUI_I18N_H
#define SYNCTOP_TUI_I18N_H

#include <locale.h>
#include <stdlib.h>

#if ENABLE_NLS
#include <libintl.h>
#define _(text) gettext(text)
#else
#define _(text) ((const char *)(text))
#endif
#define N_(text) text

static inline void i18n_init(void)
{
    setlocale(LC_ALL, "");
    setlocale(LC_NUMERIC, "C");
#if ENABLE_NLS
    const char *dir = getenv("SYNCTOP_LOCALEDIR");
    bindtextdomain(PACKAGE, dir != NULL && dir[0] != '\0' ? dir : LOCALEDIR);
    bind_textdomain_codeset(PACKAGE, "UTF-8");
    textdomain(PACKAGE);
#endif
}

#endif
