"""The recommendation explorer: navigation over the pages, nothing else.

The pages are listed once, in recsys_core/ui/navigation.py. Each page draws the shared sidebar
(recsys_core/ui/sidebar.py) first, with the links to the other pages, so the sidebar and the
page share one view: the URL's query parameters (dataset, model, item, user, k, ...).
"""

import streamlit as st

from recsys_core.ui import navigation

st.set_page_config(
    page_title="Recommendation explorer", page_icon=":material/explore:", layout="wide"
)
page = st.navigation(navigation.pages(), position="hidden")
navigation.follow()  # a thumbnail clicked on the last page that opens another page
navigation.open_status()  # the top of the main area: says when the page is loading its data
page.run()
